// basicAuth through real HTTP: every hash format Stampgate verifies, the 401 answer, headerField,
// removeHeader, usersFile, config errors; and the memory of verified credentials on its own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicAuth, parseBasic, type BasicAuthConfig } from '../../src/gateway/middleware/basic-auth.ts';
import { MiddlewareConfigError } from '../../src/gateway/middleware/middleware.ts';
import { VerifiedCredentials } from '../../src/gateway/middleware/verified-credentials.ts';
import { echoOf, problemOf, send, startHarness, testContext, type Harness, type Reply } from './middleware-harness.ts';

// Hashes made with `openssl passwd` and `openssl dgst -sha1 | base64`; the apr1 one is Traefik's doc example.
const users = [
  'test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/', // test
  'umlaut:$apr1$12345678$0NJU6izOW5MGH4BL2C/sK/', // pässwörd
  'sha:{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=', // s3cret
  'md5:$1$saltsalt$8xd6gEKHPoRrv8npgXqYp0', // p@ss:word
];

function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

function assertUnauthorized(reply: Reply, realm = 'stampgate'): void {
  assert.equal(reply.status, 401, reply.text);
  assert.equal(reply.headers['www-authenticate'], `Basic realm="${realm}"`);
  const body = problemOf(reply);
  assert.equal(body.type, 'https://stampgate.dev/problems/unauthorized');
  assert.equal(body.title, 'Unauthorized');
  assert.equal(body.status, 401);
  assert.equal(typeof body.requestId, 'string');
}

describe('basicAuth', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness(basicAuth({ users, headerField: 'X-WebAuth-User' }, testContext('auth')));
  });
  after(() => harness.close());

  test('accepts each hash format with the right password and names the user upstream', async () => {
    const good: Array<[string, string]> = [['test', 'test'], ['umlaut', 'pässwörd'], ['sha', 's3cret'], ['md5', 'p@ss:word']];
    for (const [user, password] of good) {
      const reply = await send(harness, '/private', { headers: { authorization: basic(user, password) } });
      assert.equal(reply.status, 200, `${user}: ${reply.text}`);
      assert.equal(echoOf(reply).upstreamHeaders['x-webauth-user'], user);
      assert.equal(echoOf(reply).upstreamHeaders.authorization, undefined); // kept: removeHeader is off
    }
  });

  test('accepts the same credentials again (from memory) and with a lower-case scheme', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await send(harness, '/', { headers: { authorization: basic('test', 'test') } })).status, 200);
    assert.equal((await send(harness, '/', { headers: { authorization: basic('test', 'test').replace('Basic', 'basic') } })).status, 200);
  });

  test('answers 401 with a challenge for missing, malformed or wrong credentials', async () => {
    const bad: Array<Record<string, string>> = [
      {},
      { authorization: '' },
      { authorization: 'Bearer abc' },
      { authorization: 'Basic' },
      { authorization: 'Basic !!!!' },
      { authorization: 'Basic ' + Buffer.from('no-colon').toString('base64') },
      { authorization: basic('test', 'wrong') },
      { authorization: basic('test', 'test ') },
      { authorization: basic('nobody', 'test') },
      { authorization: basic('sha', 'S3cret') },
      { authorization: basic('md5', 'p@ss') },
      { authorization: basic('', '') },
    ];
    for (const headers of bad) {
      const reply = await send(harness, '/private', { headers });
      assertUnauthorized(reply);
    }
    const missing = problemOf(await send(harness, '/'));
    assert.match(missing.detail, /middleware "auth" needs HTTP Basic credentials/);
    assert.equal(problemOf(await send(harness, '/', { headers: { authorization: basic('nobody', 'x') } })).detail, 'the credentials were not accepted');
    assert.ok(harness.seen.every((seen) => seen.upstreamHeaders['x-webauth-user'] !== undefined));
  });

  test('removeHeader drops Authorization upstream; realm is quoted', async () => {
    const h = await startHarness(basicAuth({ users, removeHeader: true, realm: 'Stamp "admin"' }, testContext()));
    try {
      const ok = await send(h, '/', { headers: { authorization: basic('test', 'test') } });
      assert.equal(ok.status, 200);
      assert.equal(echoOf(ok).upstreamHeaders.authorization, null);
      assert.equal(echoOf(ok).upstreamHeaders['x-webauth-user'], undefined);
      assertUnauthorized(await send(h, '/'), 'Stamp \\"admin\\"');
    } finally {
      await h.close();
    }
  });

  test('usersFile: comments and blank lines skipped, its entries win over users', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stampgate-basic-auth-'));
    try {
      const file = join(dir, 'users');
      // In the file, "test" has the SHA1 of s3cret instead of the apr1 of "test".
      writeFileSync(file, '# admins\n\n  test:{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=  \nmd5:$1$saltsalt$8xd6gEKHPoRrv8npgXqYp0\n');
      const h = await startHarness(basicAuth({ users: ['test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/'], usersFile: file }, testContext()));
      try {
        assert.equal((await send(h, '/', { headers: { authorization: basic('test', 's3cret') } })).status, 200);
        assertUnauthorized(await send(h, '/', { headers: { authorization: basic('test', 'test') } }));
        assert.equal((await send(h, '/', { headers: { authorization: basic('md5', 'p@ss:word') } })).status, 200);
      } finally {
        await h.close();
      }
      writeFileSync(file, 'alice:plaintext\n');
      assert.throws(() => basicAuth({ usersFile: file }, testContext()), new RegExp(`usersFile ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 1: user "alice": the password is not hashed`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('config errors', () => {
    const cases: Array<[BasicAuthConfig, RegExp]> = [
      [{}, /no users: set users or usersFile/],
      [{ users: [] }, /no users/],
      [{ users: ['alice:secret'] }, /users\[0\]: user "alice": the password is not hashed, and plain-text passwords are not accepted/],
      [{ users: ['alice'] }, /users\[0\]: expected "name:hash"/],
      [{ users: [':$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/'] }, /users\[0\]: expected "name:hash"/],
      [{ users: ['a:b:c'] }, /users\[0\]: expected "name:hash"/],
      [{ users: ['alice:$6$salt$abcdef'] }, /the hash scheme \$6\$ is not supported/],
      [{ users: ['alice:{SHA}short'] }, /a \{SHA\} hash is 28 base64 characters/],
      [{ users: ['alice:$apr1$toolongsalt$IgXLP6ewTrSuBkTrqE8wj/'] }, /an MD5 hash is \$apr1\$salt\$/],
      [{ users: ['alice:$2y$10$short'] }, /a bcrypt hash is \$2y\$NN\$/],
      [{ usersFile: '/nonexistent/stampgate-users' }, /usersFile: cannot read "\/nonexistent\/stampgate-users": ENOENT/],
      [{ users, headerField: 'X User' }, /headerField: "X User" is not a valid header name/],
      [{ users, realm: 'a\nb' }, /realm: has a character not allowed/],
    ];
    for (const [config, message] of cases) {
      assert.throws(() => basicAuth(config, testContext()), (e: unknown) => e instanceof MiddlewareConfigError && message.test(e.message), JSON.stringify(config));
    }
  });

  // The crypt_blowfish test vector: "U*U".
  const bcryptUser = 'bc:$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
  test('bcrypt hashes verify through bcryptjs', async () => {
    const h = await startHarness(basicAuth({ users: [bcryptUser, bcryptUser.replace('$2a$', '$2y$').replace('bc:', 'by:')] }, testContext()));
    try {
      assert.equal((await send(h, '/', { headers: { authorization: basic('bc', 'U*U') } })).status, 200);
      assert.equal((await send(h, '/', { headers: { authorization: basic('by', 'U*U') } })).status, 200);
      assertUnauthorized(await send(h, '/', { headers: { authorization: basic('bc', 'U*V') } }));
    } finally {
      await h.close();
    }
  });
});

test('parseBasic reads the header as Go does', () => {
  assert.deepEqual(parseBasic(basic('u', 'p:q')), { user: 'u', password: Buffer.from('p:q') });
  assert.deepEqual(parseBasic('BASIC ' + Buffer.from('u:').toString('base64')), { user: 'u', password: Buffer.alloc(0) });
  for (const bad of ['Basic', 'Basic dTpw', 'Basic dTpw=', 'Digest abc', 'Basic ' + Buffer.from('nocolon').toString('base64')]) {
    // 'dTpw' is "u:p" (valid); the others are not.
    if (bad === 'Basic dTpw') assert.deepEqual(parseBasic(bad), { user: 'u', password: Buffer.from('p') });
    else assert.equal(parseBasic(bad), null, bad);
  }
});

test('verified credentials expire and the oldest go first', () => {
  let now = 0;
  const memory = new VerifiedCredentials(1000, 2, () => now);
  const a = VerifiedCredentials.keyOf('Basic a');
  const b = VerifiedCredentials.keyOf('Basic b');
  const c = VerifiedCredentials.keyOf('Basic c');
  assert.notEqual(a, b);
  memory.remember(a, 'alice');
  memory.remember(b, 'bob');
  assert.equal(memory.user(a), 'alice');
  memory.remember(c, 'carol'); // full: alice, the oldest, goes
  assert.equal(memory.user(a), undefined);
  assert.equal(memory.user(b), 'bob');
  assert.equal(memory.size, 2);
  now = 999;
  assert.equal(memory.user(c), 'carol');
  now = 1000;
  assert.equal(memory.user(c), undefined);
  assert.equal(memory.size, 1);
});
