// How the control plane's stamps join the file provider's config (see README.md, "--control"):
//
// - The control plane supplies one service, `stamps` (`stamps@stampgate`): a `stamps` service whose
//   stamps are the feed's. When the file config defines a service `stamps` (it must then be a `stamps`
//   service), that definition is the template: its `keys`, `defaultStamp` and `requireKey` stay, and
//   each feed stamp takes the per-stamp settings (`healthCheck`, `passiveHealthCheck`, `readyPath`,
//   `strategy`) of the file's stamp with the same id. Its `stamps` list serves only until the control
//   plane lists a stamp; its static `tenants` apply to tenants the control plane does not place.
// - Unless the file config has a router named `stamps` or a router whose service is `stamps`, a
//   catch-all router `stamps` (`PathPrefix(\`/\`)`, priority 1, every entrypoint) is added: any request
//   no file router takes goes to the stamps.
// - With no stamp from the control plane and no template, there is no `stamps` service or router.
import { splitProvider } from '../../config/cross-check.ts';
import type { DynamicConfig, RouterConfig, StampDefinitionConfig, StampsServiceConfig } from '../../config/schema/dynamic.ts';

export const stampsServiceName = 'stamps';
export const stampsRouterName = 'stamps';

export interface ComposedConfig {
  config: DynamicConfig;
  /** The file's static tenants (`http.services.stamps.stamps.tenants`): the directory takes them under the control plane's. */
  staticTenants: Record<string, string>;
  /** Whether the `stamps` service routes to the control plane's stamps (false: the file's own list, or no service). */
  feedStamps: boolean;
}

/** Per-stamp settings a file template may give the control plane's stamps of the same id. */
const stampSettings = ['strategy', 'healthCheck', 'passiveHealthCheck', 'readyPath'] as const;

export class ComposeError extends Error {}

export function composeDynamicConfig(file: DynamicConfig | undefined, feedStamps: readonly StampDefinitionConfig[]): ComposedConfig {
  const http = file?.http ?? {};
  const services = http.services ?? {};
  const routers = http.routers ?? {};
  const defined = services[stampsServiceName];
  if (defined !== undefined && defined.stamps === undefined) {
    const kind = Object.keys(defined)[0] ?? 'other';
    throw new ComposeError(`http.services.${stampsServiceName}: with the control-plane provider this name is the control plane's stamps service, and the file defines it as a ${kind} service; rename it, or make it a stamps service (its keys and defaultStamp are then kept)`);
  }
  const template = defined?.stamps;
  const { tenants: staticTenants = {}, ...templateRest } = template ?? ({} as Partial<StampsServiceConfig>);

  let service: StampsServiceConfig | undefined;
  if (feedStamps.length > 0) {
    const names = new Set(feedStamps.flatMap((s) => [s.id, ...(s.aliases ?? [])]));
    const { defaultStamp, stamps: templateStamps = [], ...rest } = templateRest;
    service = {
      ...rest,
      stamps: feedStamps.map((stamp) => {
        const own = templateStamps.find((s) => s.id === stamp.id);
        if (own === undefined) return stamp;
        const settings: Partial<StampDefinitionConfig> = {};
        for (const key of stampSettings) if (own[key] !== undefined) Object.assign(settings, { [key]: own[key] });
        return { ...settings, ...stamp };
      }),
      // A default the control plane does not list falls back to `default`, else the first stamp.
      ...(defaultStamp !== undefined && names.has(defaultStamp) ? { defaultStamp } : {}),
    };
  } else if (template !== undefined) {
    service = templateRest as StampsServiceConfig;
  }

  const outRouters: Record<string, RouterConfig> = { ...routers };
  const routedToStamps = Object.values(routers).some((r) => {
    const { name, provider } = splitProvider(r.service);
    return name === stampsServiceName && provider !== 'internal';
  });
  if (service !== undefined && !routedToStamps && routers[stampsRouterName] === undefined) {
    outRouters[stampsRouterName] = { rule: 'PathPrefix(`/`)', priority: 1, service: stampsServiceName };
  }
  const outServices = { ...services };
  if (service !== undefined) outServices[stampsServiceName] = { stamps: service };

  return {
    config: { ...file, http: { ...http, routers: outRouters, services: outServices } },
    staticTenants,
    feedStamps: feedStamps.length > 0,
  };
}
