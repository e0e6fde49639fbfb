// The first admin token. An operator may set it (STAMPGATE_ADMIN_TOKEN); otherwise `stampgate up`
// makes a random one on first start, keeps it in <dataDir>/admin-token (mode 0600, only its owner
// reads it) and reuses it on later starts. Either way the store holds its SHA-256 under the name
// `admin`, which is the actor the audit log records for it.
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateToken, type TokenStore } from '../store/tokens.ts';

export const adminTokenName = 'admin';
export const adminTokenEnv = 'STAMPGATE_ADMIN_TOKEN';
export const adminTokenFile = 'admin-token';

export interface AdminToken {
  token: string;
  /** True on the start that generated it (the one to print it on). */
  created: boolean;
  /** Where it came from: the environment variable or the file. */
  source: 'env' | 'file';
  /** The file that holds it (source `file`). */
  path?: string;
}

export class AdminTokenError extends Error {}

/** Shortest operator-set token accepted: anything shorter is guessable. */
const minimumLength = 16;

export async function ensureAdminToken(dataDir: string, env: Record<string, string | undefined>, tokens: TokenStore): Promise<AdminToken> {
  const fromEnv = env[adminTokenEnv];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < minimumLength || /\s/.test(fromEnv)) throw new AdminTokenError(`${adminTokenEnv} must be at least ${minimumLength} characters with no spaces`);
    await tokens.register(adminTokenName, 'admin', fromEnv);
    return { token: fromEnv, created: false, source: 'env' };
  }
  const path = join(dataDir, adminTokenFile);
  let token = readToken(path);
  let created = false;
  if (token === undefined) {
    mkdirSync(dataDir, { recursive: true });
    token = generateToken();
    try {
      // wx: never overwrite a token another process wrote a moment ago.
      writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      token = readToken(path);
      if (token === undefined) throw new AdminTokenError(`${path} is empty; delete it to make a new admin token`);
    }
  }
  await tokens.register(adminTokenName, 'admin', token);
  return { token, created, source: 'file', path };
}

function readToken(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  // A copy that others can read is tightened rather than refused: the secret is the same either way.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const token = text.trim();
  return token === '' ? undefined : token;
}
