// Static keys the schema accepts (they are Traefik's) but this gateway does not act on yet. Each is
// refused with its name rather than silently ignored; the list shrinks as they are built.
import { parseDuration } from '../config/duration.ts';
import type { StaticConfig } from '../config/schema/static.ts';

export function unsupportedStaticKeys(config: StaticConfig): string[] {
  const problems: string[] = [];
  const notYet = (key: string) => problems.push(`${key} is not supported by this Stampgate version yet`);
  if (config.api?.debug === true) notYet('api.debug');
  for (const [name, ep] of Object.entries(config.entryPoints)) {
    const t = ep.transport;
    if (t?.respondingTimeouts?.writeTimeout !== undefined && parseDuration(t.respondingTimeouts.writeTimeout) !== 0) notYet(`entryPoints.${name}.transport.respondingTimeouts.writeTimeout`);
    if (t?.lifeCycle?.requestAcceptGraceTimeout !== undefined && parseDuration(t.lifeCycle.requestAcceptGraceTimeout) !== 0) notYet(`entryPoints.${name}.transport.lifeCycle.requestAcceptGraceTimeout`);
    if (t?.keepAliveMaxTime !== undefined && parseDuration(t.keepAliveMaxTime) !== 0) notYet(`entryPoints.${name}.transport.keepAliveMaxTime`);
    if (ep.http?.tls?.certResolver !== undefined) notYet(`entryPoints.${name}.http.tls.certResolver (ACME)`);
  }
  return problems;
}
