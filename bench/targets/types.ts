// What a benchmark target is: something that, given the run's upstream and a scenario, starts
// (in its own processes) and gives back a URL to send the load to.
import type { ManagedProcess } from '../processes.ts';
import type { SetupKind, TargetSetup } from '../scenarios.ts';
import type { SystemTool } from '../system-packages.ts';
import type { Upstream } from '../upstream.ts';

/**
 * baseline: the upstream itself; stampgate: ours; native-peer: NGINX, HAProxy, Caddy;
 * node-peer: Node.js proxy libraries (the "best Node.js peer" is the fastest of these);
 * node-floor: what a Node.js proxy cannot go below: bare node:http + undici (`node-floor`, the
 * reference of the ×node-floor column) and bare net sockets with no HTTP handling (`net-floor`).
 */
export type TargetKind = 'baseline' | 'stampgate' | 'native-peer' | 'node-peer' | 'node-floor';

export interface TargetContext {
  /** The scenario's upstream: the run's HTTP upstream, or the WebSocket echo server for (f). */
  upstream: Upstream;
  setup: TargetSetup;
  /** Private folder of this run for config files; removed at the end. */
  tmpDir: string;
  /** Path of this target's executable, when it needs a system tool. */
  binary: string | null;
}

export interface RunningTarget {
  url: string;
  /** The target's own processes: their CPU time is the target's; empty for `direct`. */
  processes: ManagedProcess[];
}

export interface Target {
  name: string;
  kind: TargetKind;
  /** One line: what runs and how it is set up. */
  description: string;
  /** The Debian package it needs, found or installed by run.ts before it starts. */
  tool?: SystemTool;
  /** A version string for the results, when there is one to ask for. */
  version?(binary: string | null): string;
  /** Why the target cannot run on this machine whatever the scenario, or null. */
  unavailable?(): string | null;
  /** Why the target cannot be set up as `setup` asks, or null. */
  unsupported(setup: TargetSetup): string | null;
  start(context: TargetContext): Promise<RunningTarget>;
}

/** An `unsupported` for a target that can be set up in these kinds of setup only. */
export function supportsOnly(kinds: readonly SetupKind[]): (setup: TargetSetup) => string | null {
  return (setup) => (kinds.includes(setup.kind) ? null : `no ${setup.kind} setup written for this target`);
}

/** A target that did not come up, with the end of what its process printed. */
export class TargetStartError extends Error {
  readonly outputTail: string;

  constructor(message: string, outputTail: string) {
    super(message);
    this.outputTail = outputTail;
  }
}
