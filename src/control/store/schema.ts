// The control plane's tables, as Kysely sees them. JSON columns are stored as text so that the same
// schema runs on SQLite and PostgreSQL.
import type { ColumnType, Generated } from 'kysely';

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
  /** How many tenants the stamp holds, kept in the transaction of every tenant change (migration 0002). */
  tenant_count: ColumnType<number, number | undefined, number>;
}

export interface TenantsTable {
  id: string;
  stamp_id: string;
  created_at: string;
}

export type TokenRole = 'admin' | 'viewer' | 'gateway';

export interface TokensTable {
  name: string;
  role: TokenRole;
  /** Hex SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  /** The token name that made the change, or `system`. */
  actor: string;
  action: string;
  target_kind: string;
  target_id: string;
  /** JSON of the target before and after the change; null when it did not exist. */
  before_json: string | null;
  after_json: string | null;
  /** The config version the change produced; null for changes that do not reach gateways (tokens). */
  config_version: number | null;
}

/** One row (id 1): the version of what gateways see, bumped by every stamp or tenant change. */
export interface ConfigVersionTable {
  id: number;
  version: number;
  /** Random per store, so that a version number from another store never matches (the ETag). */
  epoch: string;
}

export type OperationState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface OperationsTable {
  id: string;
  stamp_id: string;
  kind: string;
  state: OperationState;
  /** JSON array of steps, owned by the deployment state machine. */
  steps: string;
  error: string | null;
  actor: string;
  started_at: string;
  finished_at: string | null;
}

export interface StoreSchema {
  stamps: StampsTable;
  tenants: TenantsTable;
  tokens: TokensTable;
  audit_log: AuditLogTable;
  config_version: ConfigVersionTable;
  operations: OperationsTable;
}
