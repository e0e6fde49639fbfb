// The stamp's whole configuration comes from environment variables, so that every stamp runs the
// same code and differs only in what its driver (process, docker, kubernetes) passes it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type DatabaseConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; database: string };

export interface LibraryConfig {
  stampId: string;
  host: string;
  port: number;
  database: DatabaseConfig;
  redisUrl: string | undefined;
  bodyLimit: number;
}

/** A configuration mistake: the message names the variable and says what is accepted. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

// Lowercase only, because the id ends up in PostgreSQL database names (folded to lowercase unless
// quoted) and in Redis key prefixes; 52 characters keep `biblioteca_<id>` within PostgreSQL's 63.
const stampIdPattern = /^[a-z0-9][a-z0-9_-]{0,51}$/;
const defaultBodyLimit = 1024 * 1024;

export function isValidStampId(id: string): boolean {
  return stampIdPattern.test(id);
}

/** `biblioteca` for the default stamp, `biblioteca_<id>` otherwise (`-` becomes `_`), as in the seed. */
export function stampDatabaseName(stampId: string): string {
  return stampId === 'default' ? 'biblioteca' : `biblioteca_${stampId.replaceAll('-', '_')}`;
}

/** The default SQLite file of a stamp, relative to the working directory. */
export function defaultSqlitePath(stampId: string): string {
  return path.join('data', `biblioteca-${stampId}.db`);
}

/** Hides the password of a connection URL, for log lines and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

// Empty variables count as unset, so `REDIS_URL=` in a template switches Redis off.
function readVar(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function readInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = readVar(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  }
  return Number(raw);
}

// `sqlite:///abs/path` and `file:///abs/path` are URLs with an empty host; `sqlite:rel/path` and
// `file:rel/path` are the short forms people write by hand.
function sqlitePathFrom(raw: string): string {
  if (raw.startsWith('file://')) return fileURLToPath(raw);
  const rest = raw.replace(/^(sqlite|file):/, '');
  const filePath = rest.startsWith('//') ? rest.slice(2) : rest;
  if (filePath === '') throw new ConfigError(`DATABASE_URL '${raw}' names no file`);
  return filePath;
}

export function parseDatabaseUrl(raw: string | undefined, stampId: string, databaseName?: string): DatabaseConfig {
  if (raw === undefined) return { kind: 'sqlite', path: defaultSqlitePath(stampId) };
  // A scheme is two or more letters before a colon, so a Windows drive (`C:\…`) stays a plain path.
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'sqlite', path: raw };
  if (scheme === 'sqlite' || scheme === 'file') return { kind: 'sqlite', path: sqlitePathFrom(raw) };
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError('DATABASE_URL is not a valid URL; expected postgres://user:password@host:port/database');
    }
    if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
      throw new ConfigError(`DATABASE_URL '${redactUrl(raw)}' names no PostgreSQL host`);
    }
    const database = databaseName ?? stampDatabaseName(stampId);
    if (Buffer.byteLength(database) > 63) {
      throw new ConfigError(`DATABASE_NAME '${database}' is longer than PostgreSQL's 63-byte limit`);
    }
    return { kind: 'postgres', url: raw, database };
  }
  throw new ConfigError(
    `DATABASE_URL scheme '${scheme}:' is not supported; use postgres://…, postgresql://…, sqlite:<path>, file:<path> or a plain file path`,
  );
}

export function readLibraryConfig(env: NodeJS.ProcessEnv): LibraryConfig {
  const stampId = readVar(env, 'STAMP_ID') ?? 'default';
  if (!isValidStampId(stampId)) {
    throw new ConfigError(
      `STAMP_ID '${stampId}' is invalid: use 1 to 52 lowercase letters, digits, '-' or '_', starting with a letter or digit`,
    );
  }
  const redisUrl = readVar(env, 'REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//i.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got '${redactUrl(redisUrl)}'`);
  }
  return {
    stampId,
    host: readVar(env, 'HOST') ?? '0.0.0.0',
    port: readInteger(env, 'PORT', 3000, 0, 65535),
    database: parseDatabaseUrl(readVar(env, 'DATABASE_URL'), stampId, readVar(env, 'DATABASE_NAME')),
    redisUrl,
    bodyLimit: readInteger(env, 'BODY_LIMIT', defaultBodyLimit, 1, 1024 * 1024 * 1024),
  };
}
