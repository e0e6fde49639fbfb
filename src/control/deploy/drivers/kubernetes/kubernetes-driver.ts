// The `kubernetes` driver: a namespace per stamp with the objects manifests.ts builds, applied by
// server-side apply (field manager `stampgate`, so a re-apply takes back what it owns and leaves
// other managers' fields alone). Where no cluster answers, the step fails with "no Kubernetes
// cluster answers at <server>: …" and the saga rolls back.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { ContainerStampTemplate } from '../../stamp-template.ts';
import { DriverError, describeError, type DriverDescription, type DriverStamp, type StampDriver, type StampPlacement, type WaitReadyOptions } from '../../driver.ts';
import { ManifestError, manifestsYaml, stampManifests, stampNamespace, type StampDatabase } from './manifests.ts';

export interface KubernetesDriverOptions {
  template: ContainerStampTemplate;
  /** A stamp's generated manifests are kept in `<dataDir>/stamps/<id>/manifests.yaml` (mode 0600: it holds the Secret). */
  dataDir: string;
  /** Default: the usual kubeconfig (KUBECONFIG, ~/.kube/config, or in-cluster). */
  kubeConfig?: KubeConfig;
  /** A PostgreSQL StatefulSet per stamp (default), or one external server (each stamp makes its own database there). */
  database?: { kind: 'statefulset'; image?: string; storage?: string } | { kind: 'external'; url: string };
  replicas?: number;
  newPassword?: (stampId: string) => string;
  /** The cluster's DNS domain, for the stamp's URL (default cluster.local). */
  clusterDomain?: string;
}

const fieldManager = 'stampgate';
const appliedMarker = '.applied';

export class KubernetesDriver implements StampDriver {
  readonly kind = 'kubernetes' as const;
  readonly ownsProcesses = false;
  readonly #options: KubernetesDriverOptions;
  readonly #config: KubeConfig;
  readonly #api: KubernetesObjectApi;

  constructor(options: KubernetesDriverOptions) {
    this.#options = options;
    this.#config = options.kubeConfig ?? defaultKubeConfig();
    this.#api = KubernetesObjectApi.makeApiClient(this.#config);
  }

  get server(): string {
    return this.#config.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
  }

  dataDirOf(stampId: string): string {
    return join(this.#options.dataDir, 'stamps', stampId);
  }

  async place(stampId: string): Promise<StampPlacement> {
    return { port: null, url: `http://app.${stampNamespace(stampId)}.svc.${this.#options.clusterDomain ?? 'cluster.local'}`, dataDir: this.dataDirOf(stampId) };
  }

  async prepare(stamp: DriverStamp): Promise<void> {
    await mkdir(stamp.dataDir, { recursive: true });
    const path = join(stamp.dataDir, 'manifests.yaml');
    const kept = existsSync(path) ? passwordFromManifests(await readFile(path, 'utf8')) : undefined;
    const wanted = this.#options.database ?? { kind: 'statefulset' };
    const database: StampDatabase = wanted.kind === 'external' ? wanted : { ...wanted, password: kept ?? (this.#options.newPassword ?? (() => randomBytes(24).toString('hex')))(stamp.id) };
    let yaml: string;
    try {
      yaml = manifestsYaml(stampManifests({ stampId: stamp.id, template: this.#options.template, database, replicas: this.#options.replicas }));
    } catch (error) {
      if (error instanceof ManifestError) throw new DriverError('kubernetes', error.message, { cause: error });
      throw error;
    }
    await writeFile(path, yaml, { mode: 0o600 });
  }

  async start(stamp: DriverStamp): Promise<Record<string, unknown>> {
    const objects = await this.#objects(stamp);
    const applied: string[] = [];
    const marker = join(stamp.dataDir, appliedMarker);
    const markedBefore = existsSync(marker);
    for (const object of objects) {
      // Before the first request: from here on, cleaning up means asking the cluster.
      if (applied.length === 0) await writeFile(marker, new Date().toISOString());
      try {
        await this.#api.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
      } catch (error) {
        // A first request that never reached a server created nothing: no cleanup will need the cluster.
        if (applied.length === 0 && !markedBefore && neverDelivered(error)) await rm(marker, { force: true });
        throw this.#explain(`apply ${describe(object)}`, error);
      }
      applied.push(describe(object));
    }
    return { namespace: stampNamespace(stamp.id), applied };
  }

  async waitReady(stamp: DriverStamp, options: WaitReadyOptions): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    const header = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace: stampNamespace(stamp.id) } };
    for (;;) {
      options.signal?.throwIfAborted();
      const deployment = await this.#call('read Deployment app', () => this.#api.read(header));
      const status = (deployment as KubernetesObject & { status?: { readyReplicas?: number; availableReplicas?: number } }).status;
      if ((status?.availableReplicas ?? 0) >= 1) return;
      if (Date.now() >= deadline) throw new DriverError('kubernetes', `Deployment ${header.metadata.namespace}/app had no available replica within ${options.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** Scales the app (and its database) to zero; the namespace and its volumes stay until `remove`. */
  async stop(stamp: DriverStamp): Promise<void> {
    if (!existsSync(join(stamp.dataDir, appliedMarker))) return;
    const namespace = stampNamespace(stamp.id);
    for (const [apiVersion, kind, name] of [['apps/v1', 'Deployment', 'app'], ['apps/v1', 'StatefulSet', 'postgres']] as const) {
      await this.#call(`scale ${kind} ${namespace}/${name} to 0`, () =>
        this.#api.patch({ apiVersion, kind, metadata: { name, namespace }, spec: { replicas: 0 } } as KubernetesObject, undefined, undefined, `${fieldManager}-stop`, undefined, PatchStrategy.MergePatch),
      ).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
  }

  async remove(stamp: DriverStamp): Promise<void> {
    if (existsSync(join(stamp.dataDir, appliedMarker))) {
      const namespace = stampNamespace(stamp.id);
      await this.#call(`delete Namespace ${namespace}`, () => this.#api.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, undefined, undefined, undefined, undefined, 'Foreground')).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
    if (stamp.dataDir === this.dataDirOf(stamp.id)) await rm(stamp.dataDir, { recursive: true, force: true });
  }

  async describe(stamp: DriverStamp): Promise<DriverDescription> {
    try {
      const deployment = (await this.#api.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace: stampNamespace(stamp.id) } })) as KubernetesObject & { status?: { readyReplicas?: number; replicas?: number } };
      const ready = deployment.status?.readyReplicas ?? 0;
      return { running: ready > 0, detail: `${ready}/${deployment.status?.replicas ?? 0} replicas ready` };
    } catch (error) {
      return { running: false, detail: this.#explain('read Deployment app', error).message };
    }
  }

  async #objects(stamp: DriverStamp): Promise<KubernetesObject[]> {
    const path = join(stamp.dataDir, 'manifests.yaml');
    if (!existsSync(path)) throw new DriverError('kubernetes', `the manifests of stamp ${JSON.stringify(stamp.id)} are missing: ${path}`);
    return parseAllDocuments(await readFile(path, 'utf8')).map((d) => d.toJSON() as KubernetesObject);
  }

  async #call<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.#explain(what, error);
    }
  }

  #explain(what: string, error: unknown): DriverError {
    if (isNotFound(error)) return Object.assign(new DriverError('kubernetes', `${what}: not found`, { cause: error }), { statusCode: 404 });
    const text = describeError(error);
    if (isUnreachable(error)) return new DriverError('kubernetes', `no Kubernetes cluster answers at ${this.server}: ${text}`, { cause: error });
    return new DriverError('kubernetes', `${what} failed: ${text}`, { cause: error });
  }
}

function defaultKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromDefault();
  return config;
}

function describe(object: KubernetesObject): string {
  return `${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name ?? '?'}`;
}

function isNotFound(error: unknown): boolean {
  const e = error as { code?: unknown; statusCode?: unknown };
  return e.code === 404 || e.statusCode === 404;
}

/** A failure to reach the API server at all (refused, unknown host, TLS, timeout), not an answer from it. */
function isUnreachable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_HAS_EXPIRED|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/.test(e.code)) return true;
    if (typeof e.message === 'string' && /fetch failed|bad port|ECONNREFUSED/.test(e.message)) return true;
    current = e.cause;
  }
  return false;
}

/** A connection that was never made (refused, unknown host, bad certificate): the request cannot have reached a server. */
function neverDelivered(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_HAS_EXPIRED|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/.test(e.code)) return true;
    if (typeof e.message === 'string' && /bad port/.test(e.message)) return true;
    current = e.cause;
  }
  return false;
}

function passwordFromManifests(text: string): string | undefined {
  for (const document of parseAllDocuments(text)) {
    const object = document.toJSON() as { kind?: string; stringData?: Record<string, string> };
    if (object.kind === 'Secret' && typeof object.stringData?.POSTGRES_PASSWORD === 'string') return object.stringData.POSTGRES_PASSWORD;
  }
  return undefined;
}
