// Where the MusicShare example listens. The shipped static.yml and dynamic.yml use the default
// layout (base 8000); run.ts and stand-ins.ts take `--base-port N` to shift every port by the same
// amount, and `--base-port 0` to let the system pick free ports (what the e2e test does).
//
// The gateway's web entry point is the base port; replica r of the service at row k listens on
// base + 10k + r, so the last digit of a port is its replica number (8012 = users, replica 2).

export const serviceNames = ['users', 'music', 'social', 'notifications', 'frontend'] as const;
export type ServiceName = (typeof serviceNames)[number];

export const defaultBasePort = 8000;
export const host = '127.0.0.1';
export const replicasPerService = 2;

export interface PortLayout {
  gateway: number;
  replicas: Record<ServiceName, number[]>;
}

export function portLayout(base: number): PortLayout {
  const replicas = {} as Record<ServiceName, number[]>;
  serviceNames.forEach((name, row) => {
    replicas[name] = Array.from({ length: replicasPerService }, (_, i) => (base === 0 ? 0 : base + 10 * (row + 1) + i + 1));
  });
  return { gateway: base, replicas };
}

/** Every port of a layout with what it is for, in start order: the replicas, then the gateway. */
export function describePorts(layout: PortLayout): Array<{ port: number; what: string }> {
  const list: Array<{ port: number; what: string }> = [];
  for (const name of serviceNames) layout.replicas[name].forEach((port, i) => list.push({ port, what: `${name} replica ${i + 1}` }));
  list.push({ port: layout.gateway, what: 'gateway entrypoint web' });
  return list;
}

/** `--base-port` value: 0 (free ports) or a base whose whole layout fits below 65536. */
export function parseBasePort(text: string | undefined): number {
  if (text === undefined) return defaultBasePort;
  const highest = 10 * serviceNames.length + replicasPerService;
  const base = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(base === 0 || (base >= 1 && base + highest <= 65_535))) {
    throw new Error(`--base-port: expected 0 (free ports) or a port from 1 to ${65_535 - highest}, found ${JSON.stringify(text)}`);
  }
  return base;
}
