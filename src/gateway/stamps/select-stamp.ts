// Chooses the stamp for a request. Keys are tried in this order: `?stamp=` (a stamp id or alias),
// `?tenant=`, header `X-Stamp-Id`, header `X-Tenant-Id`; a tenant key goes through the directory.
// No key at all means the default stamp. An unknown stamp or tenant is an error, never a guess.
import type { IncomingHttpHeaders } from 'node:http';
import { queryParam } from '../proxy/query-string.ts';
import type { Stamp, StampTable } from './stamp-table.ts';
import type { TenantDirectory } from './tenant-directory.ts';

export type StampKeySource = 'query' | 'header' | 'tenant' | 'default';

export interface StampChoice {
  stamp: Stamp;
  source: StampKeySource;
  /** The tenant key, when the choice went through the directory. */
  tenant?: string;
}

export interface StampChoiceError {
  stamp?: undefined;
  error: 'unknown-stamp' | 'unknown-tenant' | 'tenant-stamp-missing';
  key: string;
  /** For tenant-stamp-missing: the stamp id the directory names. */
  stampId?: string;
}

export function selectStamp(target: string, headers: IncomingHttpHeaders, table: StampTable, directory: TenantDirectory): StampChoice | StampChoiceError {
  // Only a target with a query can carry ?stamp= or ?tenant=.
  if (target.includes('?')) {
    const byQuery = queryParam(target, 'stamp');
    if (byQuery) return byName(byQuery, 'query', table);
    const tenantByQuery = queryParam(target, 'tenant');
    if (tenantByQuery) return byTenant(tenantByQuery, table, directory);
  }
  const byHeader = headers['x-stamp-id'];
  if (typeof byHeader === 'string' && byHeader !== '') return byName(byHeader, 'header', table);
  const tenantByHeader = headers['x-tenant-id'];
  if (typeof tenantByHeader === 'string' && tenantByHeader !== '') return byTenant(tenantByHeader, table, directory);
  return { stamp: table.defaultStamp, source: 'default' };
}

function byName(name: string, source: StampKeySource, table: StampTable): StampChoice | StampChoiceError {
  const stamp = table.find(name);
  return stamp ? { stamp, source } : { error: 'unknown-stamp', key: name };
}

function byTenant(tenant: string, table: StampTable, directory: TenantDirectory): StampChoice | StampChoiceError {
  const stampId = directory.stampOf(tenant);
  if (stampId === undefined) return { error: 'unknown-tenant', key: tenant };
  const stamp = table.find(stampId);
  return stamp ? { stamp, source: 'tenant', tenant } : { error: 'tenant-stamp-missing', key: tenant, stampId };
}
