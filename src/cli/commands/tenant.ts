// `stampgate tenant list|get|create|move|delete`: the tenant directory, from the command line.
import { Option, type Command } from 'commander';
import type { TenantView } from '../admin/admin-client.ts';
import { adminGroup, withClient, withClientOptions, type ClientFlags } from '../admin/admin-command.ts';
import { collectLabel } from '../admin/arguments.ts';
import { parseCount } from '../parse-options.ts';
import { formatInstant, printJson } from '../output/format.ts';
import { renderDetails, renderTable } from '../output/table.ts';

export function registerTenantCommand(program: Command): void {
  const tenant = adminGroup(program, 'tenant', 'list, show, place, move and delete tenants (which stamp serves each)');

  withClientOptions(tenant.command('list').description('tenants by id, a page at a time (--all: every page)'))
    .option('--stamp <id>', 'only the tenants of this stamp')
    .option('--limit <n>', 'page size, 1 to 1000', parseCount(1, 1000), 100)
    .option('--cursor <tenant>', 'start after this tenant (the `next` of the previous page)')
    .option('--all', 'every page, not only the first')
    .action(async (flags: ClientFlags & { stamp?: string; limit: number; cursor?: string; all?: boolean }) =>
      withClient(flags, async (client) => {
        const items: TenantView[] = [];
        let cursor = flags.cursor;
        let next: string | null;
        do {
          const page = await client.listTenants({ stamp: flags.stamp, limit: flags.limit, cursor });
          items.push(...page.items);
          next = page.next;
          cursor = next ?? undefined;
        } while (flags.all && next !== null);
        if (flags.json) return printJson({ items, next });
        if (items.length === 0) {
          console.log(flags.stamp !== undefined ? `no tenants on stamp ${flags.stamp}` : 'no tenants');
          return;
        }
        console.log(renderTable(items, [
          { header: 'TENANT', value: (t) => t.id },
          { header: 'STAMP', value: (t) => t.stampId },
          { header: 'CREATED', value: (t) => formatInstant(t.createdAt) },
        ]));
        if (next !== null) console.log(`… more: --cursor ${next} (or --all)`);
      }),
    );

  withClientOptions(tenant.command('get').description('one tenant and its stamp').argument('<id>', 'tenant id')).action(async (id: string, flags: ClientFlags) =>
    withClient(flags, async (client) => {
      const found = await client.getTenant(id);
      if (flags.json) return printJson(found);
      console.log(renderDetails([['id', found.id], ['stamp', found.stampId], ['created', formatInstant(found.createdAt)]]));
    }),
  );

  withClientOptions(
    tenant
      .command('create')
      .description('place a new tenant: on --stamp, on the least used active stamp with room (default), or on the least used one with --label')
      .argument('<id>', 'tenant id: 1-63 characters of a-z, 0-9 and "-"'),
  )
    .option('--stamp <id>', 'place it on this stamp (policy explicit)')
    .addOption(new Option('--policy <policy>', 'how to choose the stamp (default: explicit with --stamp, label with --label, else least-used)').choices(['explicit', 'least-used', 'label']))
    .option('--label <key=value>', 'policy label: a stamp whose labels include this one (repeatable)', collectLabel)
    .action(async (id: string, flags: ClientFlags & { stamp?: string; policy?: string; label?: Record<string, string> }) =>
      withClient(flags, async (client) => {
        const created = await client.createTenant({
          id,
          ...(flags.stamp !== undefined ? { stamp: flags.stamp } : {}),
          ...(flags.policy !== undefined ? { policy: flags.policy } : {}),
          ...(flags.label !== undefined ? { labels: flags.label } : {}),
        });
        if (flags.json) return printJson(created);
        console.log(`tenant ${created.id} created on stamp ${created.stampId}`);
      }),
    );

  withClientOptions(tenant.command('move').description('move a tenant to another active stamp with room (its directory entry; gateways follow within a second)').argument('<id>', 'tenant id'))
    .requiredOption('--stamp <id>', 'the stamp to move it to')
    .action(async (id: string, flags: ClientFlags & { stamp: string }) =>
      withClient(flags, async (client) => {
        const before = await client.getTenant(id);
        const moved = await client.moveTenant(id, flags.stamp);
        if (flags.json) return printJson(moved);
        console.log(before.stampId === moved.stampId ? `tenant ${moved.id} is on stamp ${moved.stampId} already` : `tenant ${moved.id} moved: ${before.stampId} → ${moved.stampId}`);
      }),
    );

  withClientOptions(tenant.command('delete').description('delete a tenant (its directory entry)').argument('<id>', 'tenant id')).action(async (id: string, flags: ClientFlags) =>
    withClient(flags, async (client) => {
      await client.deleteTenant(id);
      if (flags.json) return printJson({ id, deleted: true });
      console.log(`tenant ${id} deleted`);
    }),
  );
}
