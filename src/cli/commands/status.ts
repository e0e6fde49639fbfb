// `stampgate status`: the system at a glance — the control plane and the config version gateways are
// served, every stamp with its state and use, the tenants placed and the room left.
import type { Command } from 'commander';
import { reportUsageErrors, withClient, withClientOptions, type ClientFlags } from '../admin/admin-command.ts';
import { percent, plural, printJson } from '../output/format.ts';
import { renderDetails } from '../output/table.ts';
import { stampTable } from './stamp.ts';

export function registerStatusCommand(program: Command): void {
  withClientOptions(reportUsageErrors(program.command('status').description('the control plane\'s config version, every stamp with its state and use, tenants and room left'))).action(
    async (flags: ClientFlags) =>
      withClient(flags, async (client) => {
        const [config, stamps] = await Promise.all([client.configVersion(), client.listStamps()]);
        const tenants = stamps.reduce((n, s) => n + s.tenantCount, 0);
        // Room: what the stamps that take new tenants (active ones) can still take.
        const accepting = stamps.filter((s) => s.state === 'active');
        const capacity = accepting.reduce((n, s) => n + s.capacity, 0);
        const room = accepting.reduce((n, s) => n + Math.max(0, s.capacity - s.tenantCount), 0);
        const states = new Map<string, number>();
        for (const s of stamps) states.set(s.state, (states.get(s.state) ?? 0) + 1);
        if (flags.json) {
          return printJson({ api: client.api, config, stamps, tenants: { placed: tenants, capacity, room } });
        }
        const byState = [...states].map(([state, n]) => `${n} ${state}`).join(', ');
        const placedOnActive = accepting.reduce((n, s) => n + s.tenantCount, 0);
        console.log(renderDetails([
          ['control plane', `${client.api} (config version ${Number.isFinite(config.version) ? config.version : '?'})`],
          ['stamps', stamps.length === 0 ? 'none' : `${stamps.length}: ${byState}`],
          ['tenants', `${tenants} placed; room for ${room} more on ${plural(accepting.length, 'active stamp')}${capacity > 0 ? ` (${percent(placedOnActive, capacity)} used)` : ''}`],
        ]));
        if (stamps.length > 0) console.log(`\n${stampTable(stamps)}`);
      }),
  );
}
