// The control plane's tables, as Kysely sees them. JSON columns are stored as text so that the same
// schema runs on SQLite and PostgreSQL.
export type StampState = 'provisioning' | 'active' | 'draining' | 'stopped' | 'failed' | 'retired';

export interface StampsTable {
  id: string;
  /** JSON array of alias strings. */
  aliases: string;
  driver: string;
  url: string;
  port: number | null;
  data_dir: string | null;
  state: StampState;
  state_reason: string;
  version: string;
  capacity: number;
  /** JSON object of label → value. */
  labels: string;
  created_at: string;
  updated_at: string;
}

export interface TenantsTable {
  id: string;
  stamp_id: string;
  created_at: string;
}

export interface StoreSchema {
  stamps: StampsTable;
  tenants: TenantsTable;
}
