// What a rule sees of one request. The caller builds it once per request (host lower-cased and
// without port, path normalised and without query) and every router's matcher reads the same one.
import type { IncomingHttpHeaders } from 'node:http';
import { parseQuery, type QueryParams } from './query.ts';

export interface RuleInput {
  /** The request method as received (Node's parser gives upper case). */
  readonly method: string;
  /** Lower-case, port removed (`shop.example.com`, `::1` for `[::1]:8080`). */
  readonly host: string;
  /** Normalised path, without the query. */
  readonly path: string;
  /** Raw query, without the `?` ("" when none). */
  readonly query: string;
  /** Node's headers: names lower-cased, repeated lines joined with ", " (set-cookie: an array). */
  readonly headers: IncomingHttpHeaders;
  /** The connection's remote address, as Node reports it (`::ffff:10.0.0.1` on dual-stack sockets). */
  readonly clientIp: string;
  /**
   * The query parsed, filled in by the first Query/QueryRegexp matcher that runs and reused by
   * all others for this request. Memoising on the input object (rather than a WeakMap, or parsing
   * up front) costs one property read per Query matcher, and nothing at all for requests that no
   * Query rule looks at, which is most of them. Create the object with the field present
   * (`queryParams: undefined`, as ruleInput() does) so that filling it keeps the object's shape.
   */
  queryParams?: QueryParams | undefined;
}

/** A RuleInput with `queryParams` declared up front, so the lazy fill does not change its shape. */
export function ruleInput(fields: Omit<RuleInput, 'queryParams'>): RuleInput {
  return {
    method: fields.method,
    host: fields.host,
    path: fields.path,
    query: fields.query,
    headers: fields.headers,
    clientIp: fields.clientIp,
    queryParams: undefined,
  };
}

/** The input's query parameters, parsed at most once per input. */
export function queryParamsOf(input: RuleInput): QueryParams {
  return (input.queryParams ??= parseQuery(input.query));
}
