// basicAuth: HTTP Basic authentication against htpasswd-style `name:hash` entries, as Traefik v3
// (see password-hash.ts for the hash formats; plain-text passwords are refused when the config is
// built). `usersFile` entries win over `users` ones with the same name, as Traefik documents.
// A failure is a 401 problem with `WWW-Authenticate: Basic realm="…"`; on success `headerField`
// carries the user name upstream and `removeHeader` drops the Authorization header.
//
// Password hashes are slow on purpose (apr1 takes about 2 ms here, bcrypt tens of milliseconds),
// so a successful check is remembered for 5 seconds (verified-credentials.ts: keyed by a SHA-256
// of the Authorization value, never the password). The memory belongs to this middleware
// instance, so a new config version (changed users) starts empty; only successes are remembered,
// so every wrong guess still pays the full hash.
//
//   http.middlewares.admin-auth.basicAuth: { users: ["admin:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"] }
import { readFileSync } from 'node:fs';
import type { MiddlewareConfig } from '../../config/schema/dynamic.ts';
import { problem, sendProblem } from '../../shared/problem.ts';
import { setUpstreamHeader, type Exchange, type Handler } from '../pipeline/exchange.ts';
import { isFieldValue, isToken } from '../http1/field-syntax.ts';
import { MiddlewareConfigError, type Middleware, type MiddlewareContext } from './middleware.ts';
import { passwordVerifier, type PasswordVerifier } from './password-hash.ts';
import { VerifiedCredentials } from './verified-credentials.ts';

export type BasicAuthConfig = NonNullable<MiddlewareConfig['basicAuth']>;

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

export function basicAuth(config: BasicAuthConfig, context: MiddlewareContext): Middleware {
  const users = loadUsers(config);
  const realm = config.realm !== undefined && config.realm !== '' ? config.realm : 'stampgate';
  if (!isFieldValue(realm)) throw new MiddlewareConfigError('realm: has a character not allowed in a header (a line break or a control character)');
  const challenge = `Basic realm="${realm.replace(/["\\]/g, '\\$&')}"`;
  const headerField = config.headerField !== undefined && config.headerField !== '' ? config.headerField : null;
  if (headerField !== null && !isToken(headerField)) throw new MiddlewareConfigError(`headerField: ${JSON.stringify(headerField)} is not a valid header name`);
  const userHeader = headerField === null ? null : headerField.toLowerCase();
  const removeHeader = config.removeHeader === true;
  const verified = new VerifiedCredentials();
  const name = context.name;

  const accept = (exchange: Exchange, user: string, next: Handler): void => {
    if (userHeader !== null) setUpstreamHeader(exchange, userHeader, user);
    if (removeHeader) setUpstreamHeader(exchange, 'authorization', null);
    next(exchange);
  };
  const reject = (exchange: Exchange, detail: string): void => {
    sendProblem(exchange.res, problem('unauthorized', 'Unauthorized', 401, detail, { requestId: exchange.requestId }), { 'www-authenticate': challenge });
  };

  return (next) => (exchange) => {
    const authorization = exchange.req.headers.authorization;
    if (authorization === undefined || authorization === '') {
      reject(exchange, `middleware ${JSON.stringify(name)} needs HTTP Basic credentials`);
      return;
    }
    const key = VerifiedCredentials.keyOf(authorization);
    const known = verified.user(key);
    if (known !== undefined) {
      accept(exchange, known, next);
      return;
    }
    const credentials = parseBasic(authorization);
    const entry = credentials === null ? undefined : users.get(credentials.user);
    if (credentials === null || entry === undefined) {
      reject(exchange, 'the credentials were not accepted');
      return;
    }
    if (!entry.async) {
      if (entry.verify(credentials.password)) {
        verified.remember(key, credentials.user);
        accept(exchange, credentials.user, next);
      } else {
        reject(exchange, 'the credentials were not accepted');
      }
      return;
    }
    entry.verify(credentials.password).then(
      (ok) => {
        if (exchange.res.destroyed) return; // the client left while the hash was computed
        if (!ok) {
          reject(exchange, 'the credentials were not accepted');
          return;
        }
        verified.remember(key, credentials.user);
        accept(exchange, credentials.user, next);
      },
      (error: unknown) => {
        context.log(`middleware ${name}: password check failed: ${(error as Error).message}`);
        if (!exchange.res.destroyed) reject(exchange, 'the credentials could not be checked');
      },
    );
  };
}

/** User and password bytes of a `Basic …` Authorization value, as Go's Request.BasicAuth reads it. */
export function parseBasic(authorization: string): { user: string; password: Buffer } | null {
  if (authorization.length < 6 || authorization.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const encoded = authorization.slice(6);
  if (encoded.length % 4 !== 0 || !base64Pattern.test(encoded)) return null;
  const decoded = Buffer.from(encoded, 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return null;
  return { user: decoded.subarray(0, colon).toString('utf8'), password: decoded.subarray(colon + 1) };
}

function loadUsers(config: BasicAuthConfig): Map<string, PasswordVerifier> {
  const users = new Map<string, PasswordVerifier>();
  const add = (line: string, where: string): void => {
    const parts = line.split(':');
    if (parts.length !== 2 || parts[0] === '') throw new MiddlewareConfigError(`${where}: expected "name:hash" (as htpasswd writes it)`);
    const [user, hash] = parts as [string, string];
    const verifier = passwordVerifier(hash);
    if (typeof verifier === 'string') throw new MiddlewareConfigError(`${where}: user ${JSON.stringify(user)}: ${verifier}`);
    users.set(user, verifier);
  };
  (config.users ?? []).forEach((line, i) => add(line.trim(), `users[${i}]`));
  if (config.usersFile !== undefined && config.usersFile !== '') {
    let text: string;
    try {
      text = readFileSync(config.usersFile, 'utf8');
    } catch (error) {
      throw new MiddlewareConfigError(`usersFile: cannot read ${JSON.stringify(config.usersFile)}: ${(error as Error).message}`);
    }
    // Added after `users`, so a name in both takes the file's hash.
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line !== '' && !line.startsWith('#')) add(line, `usersFile ${config.usersFile} line ${i + 1}`);
    });
  }
  if (users.size === 0) throw new MiddlewareConfigError('no users: set users or usersFile');
  return users;
}
