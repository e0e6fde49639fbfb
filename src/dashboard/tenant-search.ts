// Tenant search: ids containing the text typed (tenant ids are [a-z0-9-], so the text needs no
// LIKE escaping once checked), optionally on one stamp, a page at a time by id (keyset: the next
// page starts after the last id shown, so a million tenants page as fast as ten).
import type { Kysely } from 'kysely';
import type { Catalog, TenantRecord } from '../control/store/catalog.ts';
import type { StoreSchema } from '../control/store/schema.ts';

export interface TenantSearch {
  /** Lower-case substring of the id; empty lists every tenant. */
  text: string;
  stampId?: string;
  /** The `next` of the previous page. */
  cursor?: string;
  limit: number;
}

export interface TenantSearchPage {
  items: TenantRecord[];
  next: string | null;
  /** How many tenants match, counted up to `countLimit`; `more` when there are more than that. */
  matches: { count: number; more: boolean };
}

export const searchTextPattern = /^[a-z0-9-]{0,63}$/;
const countLimit = 10_000;

export async function searchTenants(catalog: Catalog | undefined, store: Kysely<StoreSchema> | undefined, search: TenantSearch): Promise<TenantSearchPage> {
  if (store) return searchInStore(store, search);
  if (catalog) return searchByPages(catalog, search);
  return { items: [], next: null, matches: { count: 0, more: false } };
}

async function searchInStore(db: Kysely<StoreSchema>, search: TenantSearch): Promise<TenantSearchPage> {
  const base = () => {
    let q = db.selectFrom('tenants');
    if (search.text !== '') q = q.where('id', 'like', `%${search.text}%`);
    if (search.stampId !== undefined) q = q.where('stamp_id', '=', search.stampId);
    return q;
  };
  let page = base().select(['id', 'stamp_id', 'created_at']);
  if (search.cursor !== undefined) page = page.where('id', '>', search.cursor);
  const [rows, counted] = await Promise.all([
    page.orderBy('id').limit(search.limit + 1).execute(),
    db.selectFrom(base().select('id').limit(countLimit + 1).as('m')).select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).executeTakeFirstOrThrow(),
  ]);
  const items = rows.slice(0, search.limit).map((r) => ({ id: r.id, stampId: r.stamp_id, createdAt: r.created_at }));
  const count = Number(counted.n);
  return { items, next: rows.length > search.limit ? items[items.length - 1]!.id : null, matches: { count: Math.min(count, countLimit), more: count > countLimit } };
}

/** Without the database: the catalog's pages, filtered here (slower, same answers). */
async function searchByPages(catalog: Catalog, search: TenantSearch): Promise<TenantSearchPage> {
  const items: TenantRecord[] = [];
  let count = 0;
  let cursor: string | undefined;
  let next: string | null = null;
  for (;;) {
    const page = await catalog.listTenantsPage({ ...(search.stampId !== undefined ? { stampId: search.stampId } : {}), ...(cursor !== undefined ? { cursor } : {}), limit: 1000 });
    for (const tenant of page.items) {
      if (!tenant.id.includes(search.text)) continue;
      count++;
      if (search.cursor !== undefined && tenant.id <= search.cursor) continue;
      if (items.length < search.limit) items.push(tenant);
      else if (next === null) next = items[items.length - 1]!.id;
    }
    if (page.next === null || count > countLimit) break;
    cursor = page.next;
  }
  return { items, next, matches: { count: Math.min(count, countLimit), more: count > countLimit } };
}
