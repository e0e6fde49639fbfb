// Targets that are a small Node.js script in ./servers/, each run as its own process: Stampgate's
// gateway (single process) and the Node.js peers. A script prints {"listening":<port>} when ready.
// It gets the upstream (UPSTREAM), the scenario's setup as JSON (BENCH_SETUP) and the run's folder
// (BENCH_TMP, for scenario c's access log).
import { fileURLToPath } from 'node:url';
import { startProcess } from '../processes.ts';
import type { SetupKind } from '../scenarios.ts';
import { supportsOnly, TargetStartError, type Target, type TargetKind } from './types.ts';

function nodeScriptTarget(name: string, kind: TargetKind, script: string, description: string, setups: SetupKind[] = ['plain-proxy']): Target {
  const scriptPath = fileURLToPath(new URL(`./servers/${script}`, import.meta.url));
  return {
    name,
    kind,
    description,
    version: () => `node ${process.version}`,
    unsupported: supportsOnly(setups),
    async start({ upstream, setup, tmpDir }) {
      let announced: (port: number) => void = () => {};
      const port = new Promise<number>((resolve) => (announced = resolve));
      const proc = await startProcess(name, process.execPath, [scriptPath], {
        env: { ...process.env, UPSTREAM: upstream.url, PORT: '0', NODE_ENV: 'production', BENCH_SETUP: JSON.stringify(setup), BENCH_TMP: tmpDir },
        onStdoutLine(line) {
          const listening = /^\{"listening":(\d+)\}$/.exec(line.trim())?.[1];
          if (listening) announced(Number(listening));
        },
      });
      let timer: NodeJS.Timeout | undefined;
      const failed = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} did not announce its port within 30 s`)), 30_000);
        void proc.exited.then(() => reject(new Error(`${name} ${proc.exitDescription ?? 'exited'} before listening`)));
      });
      failed.catch(() => {}); // an exit after a successful start is noticed elsewhere
      try {
        return { url: `http://127.0.0.1:${await Promise.race([port, failed])}`, processes: [proc] };
      } catch (error) {
        await proc.stop();
        throw new TargetStartError((error as Error).message, proc.tail());
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export const stampgate = nodeScriptTarget('stampgate', 'stampgate', 'stampgate.ts', "Stampgate's Gateway class, one process (config per scenario: see targets/servers/stampgate.ts)", ['plain-proxy', 'stamps', 'chain', 'routers', 'websocket']);
export const fastifyHttpProxy = nodeScriptTarget('fastify-http-proxy', 'node-peer', 'fastify-http-proxy.ts', '@fastify/http-proxy on fastify, defaults, no logger');
export const httpProxy = nodeScriptTarget('http-proxy', 'node-peer', 'http-proxy.ts', 'http-proxy on node:http with a keep-alive agent', ['plain-proxy', 'websocket']);
export const fastGateway = nodeScriptTarget('fast-gateway', 'node-peer', 'fast-gateway.ts', 'fast-gateway 3.4, one catch-all route');
export const nodeFloor = nodeScriptTarget('node-floor', 'node-floor', 'node-floor.ts', 'bare node:http + undici Pool.stream, no features');
export const netFloor = nodeScriptTarget('net-floor', 'node-floor', 'net-floor.ts', 'bare net sockets: request heads and Content-Length answers copied, no HTTP handling');
