// `direct`: the load goes straight to the upstream; every other target's ceiling.
import type { Target } from './types.ts';

export const direct: Target = {
  name: 'direct',
  kind: 'baseline',
  description: 'no proxy: the load goes straight to the upstream',
  unsupported: () => null,
  start: async ({ upstream }) => ({ url: upstream.url, processes: [] }),
};
