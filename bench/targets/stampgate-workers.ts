// `stampgate-workers`: the gateway on several cores, as a user runs it:
// `stampgate gateway --config … --workers 2` (node:cluster). The workers are children of the
// started process and share its process group, so their CPU is counted and they stop with it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../net.ts';
import { startProcess } from '../processes.ts';
import { supportsOnly, TargetStartError, type Target } from './types.ts';

const bin = fileURLToPath(new URL('../../bin/stampgate.js', import.meta.url));
export const workerCount = 2;

export const stampgateWorkers: Target = {
  name: 'stampgate-workers',
  kind: 'stampgate',
  description: `stampgate gateway --workers ${workerCount} (node:cluster)`,
  version: () => `node ${process.version}`,
  unsupported: supportsOnly(['plain-proxy']),
  async start({ upstream, tmpDir }) {
    const port = await freePort();
    const staticFile = join(tmpDir, 'stampgate-workers-static.yml');
    writeFileSync(staticFile, `entryPoints:\n  web:\n    address: "127.0.0.1:${port}"\nproviders:\n  file:\n    filename: stampgate-workers-dynamic.yml\n    watch: false\n`);
    writeFileSync(
      join(tmpDir, 'stampgate-workers-dynamic.yml'),
      `http:\n  routers:\n    all: { rule: "PathPrefix(\`/\`)", priority: 1, service: stamps }\n  services:\n    stamps:\n      stamps:\n        stamps:\n          - id: default\n            servers: [{ url: "${upstream.url}" }]\n`,
    );
    let ready: () => void = () => {};
    const listening = new Promise<void>((resolve) => (ready = resolve));
    const proc = await startProcess('stampgate-workers', process.execPath, [bin, 'gateway', '--config', staticFile, '--workers', String(workerCount)], {
      env: { ...process.env, NODE_ENV: 'production' },
      onStdoutLine(line) {
        if (line.includes('workers listening')) ready();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('stampgate-workers did not listen within 15 s')), 15_000);
      void proc.exited.then(() => reject(new Error(`stampgate-workers ${proc.exitDescription ?? 'exited'} before listening`)));
    });
    failed.catch(() => {});
    try {
      await Promise.race([listening, failed]);
      return { url: `http://127.0.0.1:${port}`, processes: [proc] };
    } catch (error) {
      await proc.stop();
      throw new TargetStartError((error as Error).message, proc.tail());
    } finally {
      clearTimeout(timer);
    }
  },
};
