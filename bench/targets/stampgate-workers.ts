// `stampgate-workers`: the gateway on all cores (`stampgate gateway --config … --workers N`,
// node:cluster). That command does not exist yet, so the target reports itself unavailable rather
// than imitating it with a cluster written here, which would measure this file, not Stampgate.
//
// When the command lands: write a static config under context.tmpDir with one `default` stamp at
// context.upstream.url and the entrypoint on a port from freePort(), start
// `node bin/stampgate.js gateway --config <file> --workers 2` with startProcess() (the workers
// share its process group, so their CPU is counted and they are stopped with it), return
// { url, processes: [proc] }, and delete unavailable() below.
import { plainProxyOnly, type Target } from './types.ts';

export const stampgateWorkers: Target = {
  name: 'stampgate-workers',
  kind: 'stampgate',
  description: 'stampgate gateway --workers N (node:cluster): all cores',
  unavailable: () => 'not available yet: `stampgate gateway --config … --workers N` does not exist yet (see bench/targets/stampgate-workers.ts)',
  unsupported: plainProxyOnly,
  start: () => Promise.reject(new Error('stampgate-workers is not available yet')),
};
