// `stampgate stamp list|get|create|update|drain|delete`: the admin API's stamps, from the command line.
import { Option, type Command } from 'commander';
import type { StampView } from '../admin/admin-client.ts';
import { adminGroup, withClient, withClientOptions, type ClientFlags } from '../admin/admin-command.ts';
import { collectLabel, collectList } from '../admin/arguments.ts';
import { parseCount } from '../parse-options.ts';
import { formatInstant, formatLabels, formatList, formatUse, percent, plural, printJson } from '../output/format.ts';
import { renderDetails, renderTable } from '../output/table.ts';
import { UsageError } from '../usage-error.ts';

const drivers = ['external', 'process', 'docker', 'kubernetes'];
const parseCapacity = parseCount(0, 100_000_000);

interface StampFields {
  alias?: string[];
  appVersion?: string;
  capacity?: number;
  label?: Record<string, string>;
}

export function registerStampCommand(program: Command): void {
  const stamp = adminGroup(program, 'stamp', 'list, show, create, change, drain and delete stamps (isolated copies of the app)');

  withClientOptions(stamp.command('list').description('every stamp with its state, version, use of capacity and labels')).action(async (flags: ClientFlags) =>
    withClient(flags, async (client) => {
      const stamps = await client.listStamps();
      if (flags.json) return printJson({ items: stamps });
      console.log(stamps.length === 0 ? 'no stamps' : stampTable(stamps));
    }),
  );

  withClientOptions(stamp.command('get').description('one stamp in full, with its latest operation').argument('<id>', 'stamp id')).action(async (id: string, flags: ClientFlags) =>
    withClient(flags, async (client) => {
      const found = await client.getStamp(id);
      if (flags.json) return printJson(found);
      const pairs = stampDetails(found);
      const latest = (await client.stampOperations(found.id))[0];
      if (latest !== undefined) pairs.push(['operation', `${latest.kind} ${latest.state}, started ${formatInstant(latest.startedAt)}${latest.error ? `: ${latest.error}` : ''} (${latest.id})`]);
      console.log(renderDetails(pairs));
    }),
  );

  stampFieldOptions(
    withClientOptions(
      stamp
        .command('create')
        .description('create a stamp; with --url its servers already run there (driver external, active at once), otherwise a driver provisions it')
        .argument('<id>', 'stamp id: 1-63 characters of a-z, 0-9 and "-"'),
    ),
  )
    .option('--url <url>', 'where the stamp\'s servers answer (implies --driver external)')
    .addOption(new Option('--driver <driver>', 'how the stamp is brought to life (default: external with --url, else process)').choices(drivers))
    .action(async (id: string, flags: ClientFlags & StampFields & { url?: string; driver?: string }) =>
      withClient(flags, async (client) => {
        const driver = flags.driver ?? (flags.url !== undefined ? 'external' : undefined);
        const created = await client.createStamp({
          id,
          ...(driver !== undefined ? { driver } : {}),
          ...(flags.url !== undefined ? { url: flags.url } : {}),
          ...fieldsOf(flags),
        });
        if (flags.json) return printJson(created);
        console.log(`stamp ${created.id} created: ${created.state}${created.stateReason ? ` (${created.stateReason})` : ''}, capacity ${created.capacity}${created.url ? `, ${created.url}` : ''}`);
      }),
    );

  stampFieldOptions(withClientOptions(stamp.command('update').description('change a stamp\'s capacity, version, labels or aliases').argument('<id>', 'stamp id')))
    .option('--clear-labels', 'remove every label')
    .option('--clear-aliases', 'remove every alias')
    .action(async (id: string, flags: ClientFlags & StampFields & { clearLabels?: boolean; clearAliases?: boolean }) =>
      withClient(flags, async (client) => {
        const patch: Record<string, unknown> = fieldsOf(flags);
        if (flags.clearLabels) {
          if (flags.label !== undefined) throw new UsageError('--clear-labels and --label exclude each other (--label alone replaces every label)');
          patch.labels = {};
        }
        if (flags.clearAliases) {
          if (flags.alias !== undefined) throw new UsageError('--clear-aliases and --alias exclude each other (--alias alone replaces every alias)');
          patch.aliases = [];
        }
        if (Object.keys(patch).length === 0) throw new UsageError('nothing to update: give --capacity, --app-version, --label, --alias, --clear-labels or --clear-aliases');
        const updated = await client.updateStamp(id, patch);
        if (flags.json) return printJson(updated);
        console.log(`stamp ${updated.id} updated: ${describeFields(updated, patch)}`);
      }),
    );

  withClientOptions(stamp.command('drain').description('stop placing tenants on a stamp; it keeps serving the ones it has').argument('<id>', 'stamp id'))
    .option('--reason <text>', 'why (recorded as the state reason and in the audit log)')
    .action(async (id: string, flags: ClientFlags & { reason?: string }) =>
      withClient(flags, async (client) => {
        const drained = await client.drainStamp(id, flags.reason);
        if (flags.json) return printJson(drained);
        console.log(`stamp ${drained.id} draining: no new tenants; it keeps serving its ${plural(drained.tenantCount, 'tenant')}`);
      }),
    );

  withClientOptions(stamp.command('delete').description('delete a stamp that holds no tenants').argument('<id>', 'stamp id')).action(async (id: string, flags: ClientFlags) =>
    withClient(flags, async (client) => {
      await client.deleteStamp(id);
      if (flags.json) return printJson({ id, deleted: true });
      console.log(`stamp ${id} deleted`);
    }),
  );
}

function stampFieldOptions(command: Command): Command {
  return command
    .option('--capacity <n>', 'the most tenants the stamp takes', parseCapacity)
    .option('--app-version <version>', 'the app version the stamp runs (the API\'s `version`)')
    .option('--label <key=value>', 'a label (repeatable); the set given replaces the stamp\'s labels', collectLabel)
    .option('--alias <name>', 'another name requests may use, such as 3 for s3 (repeatable); replaces the aliases', collectList);
}

function fieldsOf(flags: StampFields): Record<string, unknown> {
  return {
    ...(flags.alias !== undefined ? { aliases: flags.alias } : {}),
    ...(flags.appVersion !== undefined ? { version: flags.appVersion } : {}),
    ...(flags.capacity !== undefined ? { capacity: flags.capacity } : {}),
    ...(flags.label !== undefined ? { labels: flags.label } : {}),
  };
}

function describeFields(stamp: StampView, patch: Record<string, unknown>): string {
  const parts: string[] = [];
  if (patch.capacity !== undefined) parts.push(`capacity ${stamp.capacity}`);
  if (patch.version !== undefined) parts.push(`version ${stamp.version}`);
  if (patch.labels !== undefined) parts.push(`labels ${formatLabels(stamp.labels)}`);
  if (patch.aliases !== undefined) parts.push(`aliases ${formatList(stamp.aliases)}`);
  return parts.join(', ');
}

export function stampTable(stamps: readonly StampView[]): string {
  return renderTable(stamps, [
    { header: 'ID', value: (s) => s.id },
    { header: 'ALIASES', value: (s) => formatList(s.aliases) },
    { header: 'STATE', value: (s) => s.state },
    { header: 'VERSION', value: (s) => s.version || '-' },
    { header: 'TENANTS', value: (s) => formatUse(s.tenantCount, s.capacity), align: 'right' },
    { header: 'USE', value: (s) => percent(s.tenantCount, s.capacity), align: 'right' },
    { header: 'LABELS', value: (s) => formatLabels(s.labels) },
    { header: 'URL', value: (s) => s.url || '-' },
  ]);
}

function stampDetails(stamp: StampView): Array<[string, string]> {
  return [
    ['id', stamp.id],
    ['aliases', formatList(stamp.aliases)],
    ['state', stamp.stateReason ? `${stamp.state} (${stamp.stateReason})` : stamp.state],
    ['driver', stamp.driver],
    ['url', stamp.url || '-'],
    ['version', stamp.version || '-'],
    ['tenants', `${stamp.tenantCount} of ${stamp.capacity} (${percent(stamp.tenantCount, stamp.capacity)})`],
    ['labels', formatLabels(stamp.labels)],
    ['created', formatInstant(stamp.createdAt)],
    ['updated', formatInstant(stamp.updatedAt)],
  ];
}
