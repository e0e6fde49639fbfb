// Every target, in the order the rounds run them and the table lists them.
import { caddy } from './caddy.ts';
import { direct } from './direct.ts';
import { haproxy } from './haproxy.ts';
import { nginx } from './nginx.ts';
import { fastGateway, fastifyHttpProxy, httpProxy, netFloor, nodeFloor, stampgate } from './node-scripts.ts';
import { stampgateWorkers } from './stampgate-workers.ts';
import type { Target } from './types.ts';

export const allTargets: Target[] = [direct, stampgate, stampgateWorkers, nginx, haproxy, caddy, fastifyHttpProxy, httpProxy, fastGateway, nodeFloor, netFloor];

export const smokeTargetNames = ['direct', 'stampgate'];

export function selectTargets(names: string[]): Target[] {
  const unknown = names.filter((n) => !allTargets.some((t) => t.name === n));
  if (unknown.length > 0) throw new Error(`unknown target ${unknown.map((n) => JSON.stringify(n)).join(', ')}; known: ${allTargets.map((t) => t.name).join(', ')}`);
  // Keep the canonical order so that tables from different runs line up.
  return allTargets.filter((t) => names.includes(t.name));
}
