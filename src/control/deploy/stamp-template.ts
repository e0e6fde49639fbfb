// What a stamp is made of, for each driver: for the process driver the command that runs its app and the
// environment that makes one copy different from another (its id, port and own database); for the
// docker and kubernetes drivers an image and the same environment.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export interface ProcessStampTemplate {
  command: string;
  args: string[];
  /** Environment for one stamp, from its id, port and data directory. */
  env(stamp: { id: string; port: number; dataDir: string }): Record<string, string>;
  readyPath: string;
}

export interface LibraryTemplateOptions {
  /** postgres://… to give each stamp its own PostgreSQL database instead of a SQLite file. */
  databaseUrl?: string;
  /** redis://… for the stamps' cache (keys prefixed per stamp) instead of an in-process one. */
  redisUrl?: string;
}

// Built into dist/ the file is JavaScript; run from a clone it is the TypeScript source.
const libraryServer = fileURLToPath(new URL(`../../../examples/library/server.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));

/** The sample "biblioteca" books API of seed 000, run with the same Node as the control plane. */
export function libraryTemplate(options: LibraryTemplateOptions = {}): ProcessStampTemplate {
  return {
    command: process.execPath,
    args: [libraryServer],
    readyPath: '/ready',
    env: ({ id, port, dataDir }) => ({
      STAMP_ID: id,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: options.databaseUrl ?? `sqlite:${join(dataDir, 'biblioteca.db')}`,
      ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    }),
  };
}

/** What a stamp is made of for the docker and kubernetes drivers: an image and how to configure one copy of it. */
export interface ContainerStampTemplate {
  image: string;
  /** The port the app listens on inside its container. */
  containerPort: number;
  /** Answers 200 once the stamp takes traffic (its database reached). */
  readyPath: string;
  /** Answers 200 while the process lives (Kubernetes' liveness probe). */
  healthPath: string;
  /** Environment of one stamp's app container; secrets (`databaseUrl`) are kept in the driver's secret store (.env, Secret). */
  env(stamp: { id: string; port: number; databaseUrl: string; redisUrl?: string }): Record<string, string>;
}

/** The sample library app as a container image (built from the repository's Dockerfile; `image` names it). */
export function libraryContainerTemplate(options: { image?: string } = {}): ContainerStampTemplate {
  return {
    image: options.image ?? 'stampgate/library:latest',
    containerPort: 3000,
    readyPath: '/ready',
    healthPath: '/health',
    env: ({ id, port, databaseUrl, redisUrl }) => ({
      STAMP_ID: id,
      PORT: String(port),
      HOST: '0.0.0.0',
      DATABASE_URL: databaseUrl,
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    }),
  };
}
