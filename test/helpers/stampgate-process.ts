// Runs a real command (the `stampgate` CLI, an example's script) as a child process and follows what it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const stampgateBin = fileURLToPath(new URL('../../bin/stampgate.js', import.meta.url));

export interface RunningCommand {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first line (already printed or yet to come) that matches. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runStampgate(args: string[], env: NodeJS.ProcessEnv = {}): RunningCommand {
  return runNodeScript(stampgateBin, args, env);
}

/** `node <script> <args>` with its output collected line by line. */
export function runNodeScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}): RunningCommand {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void; from: number }>();
  const onLine = (line: string) => {
    lines.push(line);
    if (process.env.STAMPGATE_TEST_VERBOSE) console.log(line);
    for (const waiter of waiters) {
      const match = line.match(waiter.pattern);
      if (match) {
        waiters.delete(waiter);
        waiter.resolve(match);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs = 20_000) {
      for (const line of lines) {
        const match = line.match(pattern);
        if (match) return Promise.resolve(match);
      }
      return new Promise((resolve, reject) => {
        const waiter = { pattern, resolve, from: lines.length };
        waiters.add(waiter);
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output so far:\n${lines.join('\n')}`));
        }, timeoutMs);
        timer.unref();
        void exited.then(() => {
          if (waiters.delete(waiter)) reject(new Error(`stampgate exited before printing ${pattern}; output:\n${lines.join('\n')}`));
        });
      });
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
