// Safety checks shared by the path-rewriting middlewares. The entrypoint hands them a normalised
// path (no dot-segments), but a rewrite can create one: Traefik strips prefixes at any character,
// so stripping `/api` from `/api../admin` leaves `../admin`, and a later addPrefix `/tenant-a`
// would send `/tenant-a/../admin`, which the upstream resolves to `/admin`. A rewrite whose result
// has a dot-segment is therefore refused with a 400 problem instead of being forwarded.
import { problem, sendProblem } from '../../shared/problem.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { MiddlewareConfigError } from './middleware.ts';

/** Whether `path` has a `.` or `..` segment, also percent-encoded (`%2e`, `.%2E`, …). */
export function hasDotSegment(path: string): boolean {
  if (path.indexOf('.') < 0 && path.indexOf('%') < 0) return false;
  let start = path.charCodeAt(0) === 0x2f ? 1 : 0;
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end < 0) end = path.length;
    const length = end - start;
    if (length >= 1 && length <= 6 && isDotSegment(path.slice(start, end))) return true;
    start = end + 1;
  }
  return false;
}

function isDotSegment(segment: string): boolean {
  const lower = segment.toLowerCase();
  return lower === '.' || lower === '..' || lower === '%2e' || lower === '.%2e' || lower === '%2e.' || lower === '%2e%2e';
}

/** `rest` as a path: '/' when empty, a leading '/' added when missing (Traefik's ensureLeadingSlash, but never ''). */
export function asPath(rest: string): string {
  if (rest === '') return '/';
  return rest.charCodeAt(0) === 0x2f ? rest : '/' + rest;
}

/** Whether every `%` in `path` starts a valid escape. */
export function hasValidEscapes(path: string): boolean {
  for (let i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 1)) {
    if (!isHex(path.charCodeAt(i + 1)) || !isHex(path.charCodeAt(i + 2))) return false;
  }
  return true;
}

function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/** Answers a request whose rewritten path would have escaped the rewrite (a dot-segment). */
export function refuseUnsafeRewrite(exchange: Exchange, middlewareName: string, rewritten: string): void {
  sendProblem(
    exchange.res,
    problem(
      'bad-request-target',
      'Bad request target',
      400,
      `middleware ${JSON.stringify(middlewareName)} would rewrite the path ${JSON.stringify(exchange.path.slice(0, 100))} to ${JSON.stringify(rewritten.slice(0, 100))}, which has a dot-segment`,
      { requestId: exchange.requestId },
    ),
  );
}

/** Refuses a configured path text that an upstream would read differently from what it says. */
export function checkPathText(text: string, field: string): void {
  if (hasDotSegment(text)) throw new MiddlewareConfigError(`${field}: ${JSON.stringify(text)} has a "." or ".." segment`);
  if (!hasValidEscapes(text)) throw new MiddlewareConfigError(`${field}: ${JSON.stringify(text)} has an invalid percent-escape`);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x3f /* ? */ || code === 0x23 /* # */ || code >= 0x7f) {
      throw new MiddlewareConfigError(`${field}: ${JSON.stringify(text)} has a character that must be percent-encoded (${JSON.stringify(text[i])})`);
    }
  }
}
