// Scenario (f)'s load client, run in its own process by load.ts: `connections` WebSocket
// connections (the `ws` package, no compression), each sending a text message of `messageBytes`
// and the next one as soon as the echo of the last is back. Once every connection is open it counts
// the echoes that arrive within `durationS` and their round-trip times, then closes everything and
// prints one BENCH_RESULT line. Usage: node bench/load-websocket.ts <options.json>
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

interface Options {
  url: string;
  connections: number;
  durationS: number;
  messageBytes: number;
}

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/load-websocket.ts <options.json>');
const { url, connections, durationS, messageBytes } = JSON.parse(readFileSync(file, 'utf8')) as Options;
const message = Buffer.alloc(messageBytes, 'x');
const openTimeoutMs = 5000;
const stallMs = 5000;

let measuring = false;
let stopped = false;
let messages = 0;
let errors = 0;
let closed = 0;
let mismatches = 0;
let connectFailures = 0;
let rtts = new Float64Array(1 << 16);

interface Connection {
  socket: WebSocket;
  sentAt: number;
  open: boolean;
}

function record(rtt: number): void {
  if (messages === rtts.length) {
    const bigger = new Float64Array(rtts.length * 2);
    bigger.set(rtts);
    rtts = bigger;
  }
  rtts[messages++] = rtt;
}

function connect(): Promise<Connection> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const connection: Connection = { socket, sentAt: 0, open: false };
    const timer = setTimeout(() => {
      connectFailures++;
      socket.terminate();
      resolve(connection);
    }, openTimeoutMs);
    socket.on('open', () => {
      clearTimeout(timer);
      connection.open = true;
      resolve(connection);
    });
    socket.on('message', (data: Buffer, isBinary) => {
      const now = performance.now();
      if (isBinary || data.length !== messageBytes) mismatches++;
      if (measuring) record(now - connection.sentAt);
      if (stopped) return;
      connection.sentAt = performance.now();
      socket.send(message, { binary: false });
    });
    socket.on('error', () => {
      if (!stopped) errors++;
      if (!connection.open) {
        clearTimeout(timer);
        connectFailures++;
        resolve(connection);
      }
    });
    socket.on('close', () => {
      if (!stopped && connection.open) closed++;
    });
  });
}

const all = await Promise.all(Array.from({ length: connections }, connect));
const open = all.filter((c) => c.open && c.socket.readyState === WebSocket.OPEN);
const startedAt = performance.now();
measuring = true;
for (const c of open) {
  c.sentAt = performance.now();
  c.socket.send(message, { binary: false });
}
await new Promise((resolve) => setTimeout(resolve, durationS * 1000));
measuring = false;
stopped = true;
const endedAt = performance.now();
// A connection whose last message has waited longer than stallMs is stuck: a timeout.
const timeouts = open.filter((c) => c.socket.readyState === WebSocket.OPEN && endedAt - c.sentAt > stallMs).length;
for (const c of all) c.socket.terminate();

const sorted = rtts.subarray(0, messages).sort();
const percentile = (p: number) => (messages === 0 ? 0 : (sorted[Math.min(messages - 1, Math.floor((p / 100) * messages))] ?? 0));
console.log(
  `BENCH_RESULT ${JSON.stringify({
    messages,
    durationS: (endedAt - startedAt) / 1000,
    p50Us: Math.round(percentile(50) * 1000),
    p99Us: Math.round(percentile(99) * 1000),
    maxUs: Math.round((messages === 0 ? 0 : (sorted[messages - 1] ?? 0)) * 1000),
    connectFailures,
    errors,
    closed,
    mismatches,
    timeouts,
  })}`,
);
process.exit(0);
