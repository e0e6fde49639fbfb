// A scenario is two things: how every target is set up (its `setup`, which each target either
// supports or declines with a reason) and what the load sends (`request`). The upstream is the same
// for all scenarios of a run and answers every path a scenario uses (see upstream.ts).
//
// To add one of the later scenarios (routes, middlewares, tenant routing, …): add a `setup`
// kind below, teach the targets that can express it (each target file switches on `setup.kind`
// and reports the others as unsupported), and add the scenario to `allScenarios`. Scenarios that
// need gateway features that do not exist yet are not listed.

/** The upstream's fixed answer for scenario (a): a 101-byte JSON body. */
export const smallBody = jsonOfSize(101, 'stampgate-bench-upstream');

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
}

/** How the targets are configured for a scenario. Only one kind exists so far. */
export type TargetSetup = { kind: 'plain-proxy' };

export interface Scenario {
  /** Short name used by --scenario and in results: `a`, `d-1k`, … */
  id: string;
  /** The letter this scenario belongs to (`d` covers `d-1k` and `d-100k`). */
  letter: string;
  title: string;
  setup: TargetSetup;
  request: LoadRequest;
  /** What a correct proxy hands back, byte for byte: checked once per target before the load. */
  expectedBody: Buffer;
}

const plainProxy: TargetSetup = { kind: 'plain-proxy' };

/** Sizes for scenario (d); the upstream serves `/body/<bytes>` for each of them. */
export const bodySizes = [1024, 100 * 1024] as const;

export const allScenarios: Scenario[] = [
  {
    id: 'a',
    letter: 'a',
    title: 'one route, plain proxy, GET / → 101-byte JSON',
    setup: plainProxy,
    request: { method: 'GET', path: '/', headers: {}, body: null },
    expectedBody: smallBody,
  },
  ...bodySizes.map((size): Scenario => ({
    id: `d-${size / 1024}k`,
    letter: 'd',
    title: `bodies: POST ${size / 1024} KiB JSON → ${size / 1024} KiB JSON answer`,
    setup: plainProxy,
    request: { method: 'POST', path: `/body/${size}`, headers: { 'content-type': 'application/json' }, body: jsonOfSize(size, 'request') },
    expectedBody: jsonOfSize(size, 'response'),
  })),
];

/** `a,d` → the scenarios with those ids or letters, in the order given; throws on an unknown name. */
export function selectScenarios(names: string[]): Scenario[] {
  const selected: Scenario[] = [];
  for (const name of names) {
    const matches = allScenarios.filter((s) => s.id === name || s.letter === name);
    if (matches.length === 0) {
      throw new Error(`unknown scenario ${JSON.stringify(name)}; known: ${allScenarios.map((s) => s.id).join(', ')} (a letter selects all of its variants)`);
    }
    for (const match of matches) if (!selected.includes(match)) selected.push(match);
  }
  return selected;
}

/** A JSON object of exactly `size` bytes: `{"kind":"…","pad":"xxxx…"}`. */
export function jsonOfSize(size: number, kind: string): Buffer {
  const empty = JSON.stringify({ kind, pad: '' });
  if (size < empty.length) throw new Error(`cannot make a ${size}-byte JSON body`);
  return Buffer.from(JSON.stringify({ kind, pad: 'x'.repeat(size - empty.length) }));
}
