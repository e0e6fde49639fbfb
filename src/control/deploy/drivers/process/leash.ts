// The leash: a small Node program that runs a stamp's command and ends it when the control plane
// that started it is gone. The control plane holds the leash's stdin; a closed stdin means the
// control plane exited, even by SIGKILL (no handler of its own ran): the command then gets SIGTERM,
// and SIGKILL after a grace period (STAMPGATE_LEASH_GRACE_MS, default 3 s). Without it a killed
// control plane would leave its stamps running with nobody supervising them, holding their ports
// against the control plane's restart. SIGTERM and SIGINT are passed on to the command; the leash
// exits as the command did (its code, or the same signal).
//
// Run as `node -e <leashSource> -- <command> [args…]` with stdin a pipe from the parent. It is plain
// JavaScript in a string, not a module file, so that it starts without loading the TypeScript
// stripper (about ten times faster here, paid on every stamp start) and needs no file next to dist/.
export const leashSource = `
'use strict';
const { spawn } = require('node:child_process');
const graceMs = Number(process.env.STAMPGATE_LEASH_GRACE_MS || 3000);
const [command, ...args] = process.argv.slice(1);
if (command === undefined) {
  process.stderr.write('usage: leash <command> [args...]\\n');
  process.exit(2);
}
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let ending = false;
function end(signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  if (!ending) {
    ending = true;
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  }
}
child.once('error', (error) => {
  process.stderr.write('could not start ' + command + ': ' + error.message + '\\n');
  process.exit(127);
});
child.once('exit', (code, signal) => {
  if (signal) {
    // Leave as the command did, so that the supervisor reports the same signal.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code === null ? 1 : code);
});
process.on('SIGTERM', () => end('SIGTERM'));
process.on('SIGINT', () => end('SIGINT'));
process.stdin.on('error', () => end('SIGTERM'));
process.stdin.on('close', () => end('SIGTERM'));
process.stdin.on('end', () => end('SIGTERM'));
process.stdin.resume();
`;
