// Passive health, as NGINX's max_fails/fail_timeout: a server that fails `maxFails` times within
// `failTimeout` is ejected (left out of balancing) for `failTimeout`, then tried again with real
// traffic. Like NGINX, the first request after the ejection decides: a failure ejects it again at
// once, a success clears its record. It reads no config per request and allocates nothing on the
// success path, which every answered request takes.
//
// Contract for callers (the proxy): what counts as a failure is the caller's decision, reported
// once per attempt on one server, synchronously when the attempt ends:
//   - recordFailure(server) for signs that the server is unwell: connection refused or reset,
//     connect timeout, no response headers in time, a broken response; and upstream 5xx answers
//     when the service's config asks for it. Never for the client's own faults: client aborts,
//     bodies over the gateway's limit, 4xx answers.
//   - recordSuccess(server) for every other answered attempt.
// Ejection sets `server.ejectedUntil`, which `isAvailable` reads; balancers need nothing else.
import { announceChange } from './announce-change.ts';
import { EventEmitter } from 'node:events';
import type { PassiveHealthCheckConfig } from '../../config/schema/dynamic.ts';
import type { UpstreamServer } from '../balancer/upstream-server.ts';
import { positiveDurationMs } from './positive-duration.ts';

/** NGINX's fail_timeout default. */
export const defaultFailTimeoutMs = 10_000;
/** setTimeout's limit; a longer wait simply re-arms. */
const maxTimerMs = 2 ** 31 - 1;

export interface PassiveHealthEvents {
  /** A server was ejected (healthy false) or came back when its ejection ended (healthy true). */
  change: [server: UpstreamServer, healthy: boolean, reason: string];
}

interface FailureRecord {
  /** The times of the last `maxFails` failures, a ring written at `next`. */
  readonly times: Float64Array;
  next: number;
  count: number;
  /** Returned from an ejection and not yet answered well: one failure ejects it again. */
  probation: boolean;
  /** Announces the end of the ejection. */
  timer: NodeJS.Timeout | null;
}

export class PassiveHealth extends EventEmitter<PassiveHealthEvents> {
  readonly maxFails: number;
  readonly failTimeoutMs: number;
  readonly #records = new Map<UpstreamServer, FailureRecord>();
  #stopped = false;

  constructor(config: PassiveHealthCheckConfig) {
    super();
    this.maxFails = Math.max(1, Math.floor(config.maxFails));
    this.failTimeoutMs = positiveDurationMs(config.failTimeout, defaultFailTimeoutMs);
  }

  /** An attempt on `server` failed at `now` (performance.now() ms). */
  recordFailure(server: UpstreamServer, now: number = performance.now()): void {
    if (this.#stopped) return;
    // Requests that were already in flight when the server was ejected do not extend the ejection.
    if (server.ejectedUntil > now) return;
    let record = this.#records.get(server);
    if (record === undefined) {
      record = { times: new Float64Array(this.maxFails), next: 0, count: 0, probation: false, timer: null };
      this.#records.set(server, record);
    }
    if (record.probation) {
      this.#eject(server, record, now, `failed again after an ejection of ${this.failTimeoutMs} ms`);
      return;
    }
    record.times[record.next] = now;
    record.next = (record.next + 1) % this.maxFails;
    if (record.count < this.maxFails) record.count++;
    // With the ring full, `next` points at the oldest of the last maxFails failures.
    if (record.count === this.maxFails && now - record.times[record.next]! <= this.failTimeoutMs) {
      this.#eject(server, record, now, `${this.maxFails} failure(s) within ${this.failTimeoutMs} ms`);
    }
  }

  /** An attempt on `server` succeeded at `now` (read only when the server is on probation). */
  recordSuccess(server: UpstreamServer, now?: number): void {
    const record = this.#records.get(server);
    if (record === undefined || !record.probation) return;
    // An answer to a request sent before the ejection proves nothing about the server now.
    if (server.ejectedUntil > (now ?? performance.now())) return;
    record.probation = false;
    record.count = 0;
    record.next = 0;
  }

  /** Clears the timers; later reports are ignored. Ejections in place run out on their own. */
  stop(): void {
    this.#stopped = true;
    for (const record of this.#records.values()) {
      if (record.timer !== null) clearTimeout(record.timer);
      record.timer = null;
    }
  }

  #eject(server: UpstreamServer, record: FailureRecord, now: number, reason: string): void {
    server.ejectedUntil = now + this.failTimeoutMs;
    record.count = 0;
    record.next = 0;
    record.probation = true;
    this.#announceReturn(server, record);
    this.#announce(server, false, reason);
  }

  #announce(server: UpstreamServer, healthy: boolean, reason: string): void {
    announceChange(this, server, healthy, reason);
  }

  #announceReturn(server: UpstreamServer, record: FailureRecord): void {
    if (record.timer !== null) clearTimeout(record.timer);
    const wait = Math.min(Math.ceil(Math.max(0, server.ejectedUntil - performance.now())), maxTimerMs);
    record.timer = setTimeout(() => {
      record.timer = null;
      if (this.#stopped) return;
      // Timers may fire a little early against performance.now(), and the deadline may have moved:
      // announce the return only once the server is really available again.
      if (server.ejectedUntil > performance.now()) this.#announceReturn(server, record);
      else this.#announce(server, true, `ejection of ${this.failTimeoutMs} ms ended`);
    }, wait);
    // The gateway's listeners keep the process alive; this timer must not on its own.
    record.timer.unref();
  }
}
