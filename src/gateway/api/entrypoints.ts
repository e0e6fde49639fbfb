// GET /api/entrypoints and /api/entrypoints/{name}: each listener and the address it listens on.
import type { AddressInfo } from 'node:net';
import { problem } from '../../shared/problem.ts';
import { isProblem, type ApiAnswer, type ApiView } from './api-view.ts';
import { byName, matchesSearch, paginate, parseListQuery } from './list-query.ts';

export interface EntryPointView {
  name: string;
  /** The address it listens on now (`127.0.0.1:3000`, `[::]:443`); null while it is not listening. */
  address: string | null;
  /** Whether it serves TLS; absent while it is not listening. */
  tls?: boolean;
}

/** Every entrypoint the gateway has opened or the running config routes on, sorted by name. */
export function allEntryPoints(view: ApiView): EntryPointView[] {
  const names = new Set<string>(view.gateway.entryPoints.keys());
  for (const name of view.config?.routing.keys() ?? []) names.add(name);
  return [...names].map((name) => entryPointView(view, name)).sort(byName);
}

function entryPointView(view: ApiView, name: string): EntryPointView {
  const entryPoint = view.gateway.entryPoints.get(name);
  if (entryPoint === undefined || !entryPoint.server.listening) return { name, address: null };
  return { name, address: formatAddress(entryPoint.address()), tls: entryPoint.secure };
}

export function formatAddress(address: AddressInfo | string | null): string | null {
  if (address === null) return null;
  if (typeof address === 'string') return address; // a pipe or socket path
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

export function listEntryPoints(view: ApiView): ApiAnswer {
  const query = parseListQuery(view.params);
  if (isProblem(query)) return { problem: query };
  const page = paginate(allEntryPoints(view).filter((e) => matchesSearch(query, e.name)), query);
  if (isProblem(page)) return { problem: page };
  return { body: page.items, headers: { 'x-next-page': String(page.nextPage) } };
}

export function getEntryPoint(view: ApiView, name: string): ApiAnswer {
  const found = allEntryPoints(view).find((e) => e.name === name);
  if (found === undefined) return { problem: problem('unknown-entrypoint', 'Unknown entrypoint', 404, `no entrypoint is named ${JSON.stringify(name)}`, { name }) };
  return { body: found };
}
