// The primary process of `stampgate gateway --workers N`: forks N gateway workers that share the
// listeners (node:cluster), restarts one that crashes (with a growing delay), answers their
// /stampsz requests with the sum over all workers, and passes SIGHUP on as a reload.
import cluster, { type Worker } from 'node:cluster';
import { isMessage, sumStampsz, type PrimaryMessage, type WorkerMessage } from './messages.ts';
import type { StampszBody } from '../../observe/stamp-request-counters.ts';

export interface WorkerPoolOptions {
  count: number;
  log: (line: string) => void;
}

export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #workers = new Set<Worker>();
  #stopping = false;
  #everReady = false;
  #restartDelayMs = 500;
  #nextCollection = 1;
  readonly #collections = new Map<number, { bodies: StampszBody[]; expected: number; reply: (body: StampszBody) => void }>();

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    // Workers accept connections themselves: the kernel spreads them, and the primary stays off the request path.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
  }

  /** Forks the workers; resolves when all listen, rejects when one fails before any was ready. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      let listening = 0;
      for (let i = 0; i < this.#options.count; i++) {
        this.#fork((worker) => {
          worker.once('exit', (code) => {
            if (!this.#everReady) reject(new Error(`worker ${worker.id} exited with code ${code} before listening`));
          });
        }, () => {
          listening++;
          if (listening === this.#options.count) {
            this.#everReady = true;
            resolve();
          }
        });
      }
    });
  }

  #fork(setup: (worker: Worker) => void, onListening: () => void): void {
    const worker = cluster.fork({ STAMPGATE_WORKER: '1' });
    this.#workers.add(worker);
    setup(worker);
    worker.on('message', (message: unknown) => {
      if (!isMessage<WorkerMessage>(message)) return;
      if (message.type === 'stampgate:listening') onListening();
      else if (message.type === 'stampgate:stampsz-request') this.#collect(worker, message.id);
      else if (message.type === 'stampgate:stampsz-report') this.#report(message.id, message.body);
    });
    worker.once('exit', (code, signal) => {
      this.#workers.delete(worker);
      if (this.#stopping || !this.#everReady) return;
      const delay = this.#restartDelayMs;
      this.#restartDelayMs = Math.min(delay * 2, 10_000);
      this.#options.log(`worker ${worker.id} ${signal ? `killed by ${signal}` : `exited with code ${code}`}; starting a new one in ${delay} ms`);
      setTimeout(() => {
        if (!this.#stopping) this.#fork(() => {}, () => (this.#restartDelayMs = 500));
      }, delay);
    });
  }

  /** A worker asked for /stampsz: ask every worker for its counts and send it the sum. */
  #collect(asker: Worker, askerId: number): void {
    const id = this.#nextCollection++;
    const workers = [...this.#workers].filter((w) => w.isConnected());
    const reply = (body: StampszBody) => send(asker, { type: 'stampgate:stampsz-total', id: askerId, body });
    this.#collections.set(id, { bodies: [], expected: workers.length, reply });
    for (const worker of workers) send(worker, { type: 'stampgate:stampsz-collect', id });
    // A worker that dies meanwhile must not leave the asker waiting.
    setTimeout(() => this.#finish(id), 500).unref();
  }

  #report(id: number, body: StampszBody): void {
    const collection = this.#collections.get(id);
    if (!collection) return;
    collection.bodies.push(body);
    if (collection.bodies.length >= collection.expected) this.#finish(id);
  }

  #finish(id: number): void {
    const collection = this.#collections.get(id);
    if (!collection) return;
    this.#collections.delete(id);
    collection.reply(sumStampsz(collection.bodies));
  }

  reload(): void {
    for (const worker of this.#workers) send(worker, { type: 'stampgate:reload' });
  }

  /** Asks every worker to stop (SIGTERM: each drains its connections) and waits for them. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const exits = [...this.#workers].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const worker of this.#workers) worker.process.kill('SIGTERM');
    await Promise.all(exits);
  }
}

function send(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message);
}
