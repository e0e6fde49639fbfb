// The gateway's copy on disk of the last good config from the control plane (static stability): a
// gateway started while the control plane is down routes from it. Written atomically — a temporary
// file in the same directory, flushed, then renamed over the old copy — so a crash mid-write leaves
// the previous copy whole, never half a file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseFeedDocument, type FeedDocument } from './feed-document.ts';

export const cacheFormat = 'stampgate-gateway-config-cache/1';

/** `.stampgate/gateway-config-cache.json` under the working directory, beside `stampgate up`'s data. */
export function defaultCacheFile(cwd = process.cwd()): string {
  return join(cwd, '.stampgate', 'gateway-config-cache.json');
}

export interface CachedConfig {
  /** The control plane it came from. */
  endpoint: string;
  etag: string | undefined;
  savedAt: string;
  document: FeedDocument;
}

/** What a cache file holds, around the document: the wire format's own JSON, kept as it is. */
export function cacheFileContents(endpoint: string, etag: string | undefined, documentJson: Buffer | string, savedAt = new Date()): Buffer {
  const head = JSON.stringify({ format: cacheFormat, endpoint, etag: etag ?? null, savedAt: savedAt.toISOString() });
  return Buffer.concat([Buffer.from(`${head.slice(0, -1)},"document":`), typeof documentJson === 'string' ? Buffer.from(documentJson) : documentJson, Buffer.from('}\n')]);
}

/** The whole document as JSON, built without an intermediate object of every tenant. */
export function documentJson(version: number, epoch: string, stamps: unknown, tenants: Iterable<readonly [string, string]>): string {
  const members: string[] = [];
  for (const [tenant, stamp] of tenants) members.push(`${JSON.stringify(tenant)}:${JSON.stringify(stamp)}`);
  return `{"version":${version},"epoch":${JSON.stringify(epoch)},"stamps":${JSON.stringify(stamps)},"tenants":{${members.join(',')}}}`;
}

export async function writeCacheFile(path: string, contents: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'w', 0o644);
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export class CacheFileError extends Error {}

/** The cached config, or undefined when there is no file; throws CacheFileError for a file that is not one. */
export async function readCacheFile(path: string): Promise<CachedConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CacheFileError(`${path}: ${(error as Error).message}`);
  }
  let parsed: { format?: unknown; endpoint?: unknown; etag?: unknown; savedAt?: unknown; document?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (error) {
    throw new CacheFileError(`${path}: not JSON (${(error as Error).message})`);
  }
  if (parsed.format !== cacheFormat) throw new CacheFileError(`${path}: not a Stampgate gateway config cache (format ${JSON.stringify(parsed.format)})`);
  let document: FeedDocument;
  try {
    document = parseFeedDocument(parsed.document);
  } catch (error) {
    throw new CacheFileError(`${path}: ${(error as Error).message}`);
  }
  if (document.since !== undefined) throw new CacheFileError(`${path}: holds a delta, not a whole document`);
  return {
    endpoint: typeof parsed.endpoint === 'string' ? parsed.endpoint : '',
    etag: typeof parsed.etag === 'string' ? parsed.etag : undefined,
    savedAt: typeof parsed.savedAt === 'string' ? parsed.savedAt : '',
    document,
  };
}
