// String.prototype must stay a fast-mode object in a running gateway: when a library subclasses
// String (ioredis does), V8 stops inlining string method loads everywhere in the process, and the
// request path slows by about a tenth (see src/shared/fast-string-prototype.ts). Each check runs
// in a child process with V8's natives syntax, which asks the engine itself.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

/** Runs `code` (an ES module) with natives syntax; it prints `%HasFastProperties(String.prototype)`. */
async function stringPrototypeFast(code: string): Promise<boolean> {
  const { stdout } = await run(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', code], { cwd: root, timeout: 30_000 });
  const last = stdout.trim().split('\n').at(-1);
  assert.ok(last === 'true' || last === 'false', `unexpected output: ${stdout}`);
  return last === 'true';
}

test('the gateway, the CLI and a Redis rateLimit leave String.prototype fast', async () => {
  const fast = await stringPrototypeFast(`
    await import('./src/gateway/gateway.ts');
    await import('./src/cli/main.ts');
    const { acquireRedisLink, releaseRedisLink } = await import('./src/gateway/middleware/rate-limit-redis.ts');
    // Building a Redis link loads ioredis (lazily: the client connects on the first request only).
    const link = acquireRedisLink({ endpoints: ['127.0.0.1:6379'] }, 'test.redis', () => {});
    await releaseRedisLink(link);
    console.log(%HasFastProperties(String.prototype));
  `);
  assert.equal(fast, true, 'String.prototype is in dictionary mode: a module subclasses String without restoreFastStringPrototype()');
});

test('restoreFastStringPrototype undoes a subclass of String', async () => {
  const fast = await stringPrototypeFast(`
    class Subclass extends String {}
    new Subclass('x');
    const { restoreFastStringPrototype } = await import('./src/shared/fast-string-prototype.ts');
    restoreFastStringPrototype();
    console.log(%HasFastProperties(String.prototype));
  `);
  assert.equal(fast, true);
});
