// The control plane's config feed (GET /v1/config) as the gateway reads it. The gateway never imports
// the control plane: this is its own description of the wire format (src/control/api/README.md,
// "Config feed"), checked on arrival so that a malformed answer is refused rather than half-applied.
import type { StampDefinitionConfig } from '../../config/schema/dynamic.ts';
import { validateDynamicDocument } from '../../config/validate.ts';

/** A whole document, or (with `since`) a delta: `tenants` then holds only the tenants placed or moved since. */
export interface FeedDocument {
  version: number;
  epoch: string;
  /** Items of the gateway's `stamps` service: the control plane's active and draining stamps. */
  stamps: StampDefinitionConfig[];
  /** tenant → stamp id. */
  tenants: Record<string, string>;
  /** Delta answers only: the version the changes start from. */
  since?: number;
  /** Delta answers only: tenants deleted since `since`. */
  removedTenants?: string[];
}

export class FeedDocumentError extends Error {}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Checks the shape of a parsed answer of /v1/config; throws FeedDocumentError naming the first problem. */
export function parseFeedDocument(value: unknown): FeedDocument {
  if (!isRecord(value)) throw new FeedDocumentError('the config document is not a JSON object');
  const { version, epoch, stamps, tenants, since, removedTenants } = value;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) throw new FeedDocumentError('version: expected a whole number');
  if (typeof epoch !== 'string' || epoch === '') throw new FeedDocumentError('epoch: expected a string');
  if (!Array.isArray(stamps)) throw new FeedDocumentError('stamps: expected an array');
  if (!isRecord(tenants)) throw new FeedDocumentError('tenants: expected an object');
  for (const tenant in tenants) {
    if (typeof tenants[tenant] !== 'string') throw new FeedDocumentError(`tenants.${tenant}: expected a stamp id`);
  }
  if (since !== undefined && (typeof since !== 'number' || !Number.isSafeInteger(since))) throw new FeedDocumentError('since: expected a whole number');
  if (removedTenants !== undefined && (!Array.isArray(removedTenants) || removedTenants.some((t) => typeof t !== 'string'))) throw new FeedDocumentError('removedTenants: expected an array of tenant ids');
  // The stamps become a `stamps` service: the dynamic config's own schema checks them.
  if (stamps.length > 0) {
    const checked = validateDynamicDocument({ http: { services: { stamps: { stamps: { stamps } } } } });
    if (!checked.ok) throw new FeedDocumentError(checked.issues.map((issue) => issue.message.replace('http.services.stamps.stamps.', '')).join('; '));
  }
  return {
    version,
    epoch,
    stamps: stamps as StampDefinitionConfig[],
    tenants: tenants as Record<string, string>,
    ...(since !== undefined ? { since: since as number } : {}),
    ...(removedTenants !== undefined ? { removedTenants: removedTenants as string[] } : {}),
  };
}
