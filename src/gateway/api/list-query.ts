// The list endpoints' query, as Traefik's API: `search` (case-insensitive substring of the name),
// `page` and `per_page` (default 1 and 100), and the `X-Next-Page` header, which names the next
// page, or 1 when this is the last one.
import { problem, type Problem } from '../../shared/problem.ts';

export const defaultPerPage = 100;

export interface ListQuery {
  /** Lower-cased; '' matches everything. */
  search: string;
  page: number;
  perPage: number;
}

export interface Page<T> {
  items: T[];
  nextPage: number;
}

export function parseListQuery(params: URLSearchParams): ListQuery | Problem {
  const page = positiveInteger(params, 'page', 1);
  if (typeof page !== 'number') return page;
  const perPage = positiveInteger(params, 'per_page', defaultPerPage);
  if (typeof perPage !== 'number') return perPage;
  return { search: (params.get('search') ?? '').toLowerCase(), page, perPage };
}

export function matchesSearch(query: ListQuery, ...values: string[]): boolean {
  return query.search === '' || values.some((v) => v.toLowerCase().includes(query.search));
}

/** The requested page of `items`; a page past the end (other than the first) is a 400 problem. */
export function paginate<T>(items: readonly T[], query: ListQuery): Page<T> | Problem {
  const start = (query.page - 1) * query.perPage;
  if (start !== 0 && start >= items.length) {
    return problem('invalid-pagination', 'Invalid pagination', 400, `page ${query.page} with per_page ${query.perPage} is past the end (${items.length} items)`);
  }
  return { items: items.slice(start, start + query.perPage), nextPage: query.page * query.perPage < items.length ? query.page + 1 : 1 };
}

function positiveInteger(params: URLSearchParams, name: string, fallback: number): number | Problem {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  const value = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : 0;
  if (value <= 0) return problem('invalid-pagination', 'Invalid pagination', 400, `${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

export function byName(a: { readonly name: string }, b: { readonly name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
