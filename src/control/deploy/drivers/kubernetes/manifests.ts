// The Kubernetes objects of one stamp: a namespace `stamp-<id>` holding the app's Deployment and
// Service, a Secret with its database URL, and either a PostgreSQL StatefulSet (with its headless
// Service) or nothing more when the stamp uses an external database. Built with kubernetes-models'
// typed classes and validated against the API's schemas before anything is sent to a cluster.
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { stringify } from 'yaml';
import type { ContainerStampTemplate } from '../../stamp-template.ts';

export type StampDatabase = { kind: 'statefulset'; password: string; image?: string; storage?: string } | { kind: 'external'; url: string };

export interface StampManifestsInput {
  stampId: string;
  template: ContainerStampTemplate;
  database: StampDatabase;
  /** App replicas (default 1). */
  replicas?: number;
}

/** An object ready for server-side apply. */
export type StampObject = Namespace | Secret | Service | Deployment | StatefulSet;

export class ManifestError extends Error {}

export function stampNamespace(stampId: string): string {
  return `stamp-${stampId}`;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const secretName = 'stamp-secrets';

/** The objects in the order they are applied (the namespace first, the app last). */
export function stampManifests(input: StampManifestsInput): StampObject[] {
  const namespace = stampNamespace(input.stampId);
  if (!dnsLabel.test(namespace) || namespace.length > 63) throw new ManifestError(`stamp id ${JSON.stringify(input.stampId)} does not make a valid namespace name (${JSON.stringify(namespace)}: at most 63 characters of a-z, 0-9 and "-")`);
  if (input.template.image.trim() === '') throw new ManifestError('template.image: must name a container image');
  // The API's schema takes any int32 here; a negative count is refused by the API server only.
  if (input.replicas !== undefined && input.replicas < 0) throw new ManifestError(`replicas: must be a whole number >= 0 (got ${input.replicas})`);
  const common = { 'app.kubernetes.io/name': 'stamp', 'app.kubernetes.io/instance': input.stampId, 'app.kubernetes.io/managed-by': 'stampgate' };
  const meta = (name: string, component: string) => ({ name, namespace, labels: { ...common, 'app.kubernetes.io/component': component } });
  const select = (component: string) => ({ 'app.kubernetes.io/instance': input.stampId, 'app.kubernetes.io/component': component });

  const databaseUrl = input.database.kind === 'external' ? input.database.url : `postgres://stampgate:${encodeURIComponent(input.database.password)}@postgres.${namespace}.svc:5432/stampgate`;
  const { containerPort } = input.template;
  const env = Object.entries(input.template.env({ id: input.stampId, port: containerPort, databaseUrl })).map(([name, value]) =>
    // The database URL holds a password: the pod reads it from the Secret, never from the Deployment.
    value === databaseUrl ? { name, valueFrom: { secretKeyRef: { name: secretName, key: 'DATABASE_URL' } } } : { name, value },
  );

  const objects: StampObject[] = [
    new Namespace({ metadata: { name: namespace, labels: { ...common, 'app.kubernetes.io/component': 'namespace' } } }),
    new Secret({
      metadata: meta(secretName, 'secrets'),
      type: 'Opaque',
      stringData: { DATABASE_URL: databaseUrl, ...(input.database.kind === 'statefulset' ? { POSTGRES_PASSWORD: input.database.password } : {}) },
    }),
  ];
  if (input.database.kind === 'statefulset') {
    objects.push(
      new Service({ metadata: meta('postgres', 'database'), spec: { clusterIP: 'None', selector: select('database'), ports: [{ name: 'postgres', port: 5432, targetPort: 'postgres' }] } }),
      new StatefulSet({
        metadata: meta('postgres', 'database'),
        spec: {
          serviceName: 'postgres',
          replicas: 1,
          selector: { matchLabels: select('database') },
          template: {
            metadata: { labels: { ...common, 'app.kubernetes.io/component': 'database' } },
            spec: {
              containers: [
                {
                  name: 'postgres',
                  image: input.database.image ?? 'postgres:17-alpine',
                  ports: [{ name: 'postgres', containerPort: 5432 }],
                  env: [
                    { name: 'POSTGRES_USER', value: 'stampgate' },
                    { name: 'POSTGRES_DB', value: 'stampgate' },
                    { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: secretName, key: 'POSTGRES_PASSWORD' } } },
                    { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                  ],
                  readinessProbe: { exec: { command: ['pg_isready', '-U', 'stampgate', '-d', 'stampgate'] }, periodSeconds: 2 },
                  volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
                },
              ],
            },
          },
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: input.database.storage ?? '1Gi' } } } }],
        },
      }),
    );
  }
  objects.push(
    new Deployment({
      metadata: meta('app', 'app'),
      spec: {
        replicas: input.replicas ?? 1,
        selector: { matchLabels: select('app') },
        template: {
          metadata: { labels: { ...common, 'app.kubernetes.io/component': 'app' } },
          spec: {
            containers: [
              {
                name: 'app',
                image: input.template.image,
                ports: [{ name: 'http', containerPort }],
                env,
                readinessProbe: { httpGet: { path: input.template.readyPath, port: 'http' }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: input.template.healthPath, port: 'http' }, periodSeconds: 10 },
              },
            ],
          },
        },
      },
    }),
    new Service({ metadata: meta('app', 'app'), spec: { selector: select('app'), ports: [{ name: 'http', port: 80, targetPort: 'http' }] } }),
  );
  for (const object of objects) {
    try {
      object.validate();
    } catch (error) {
      throw new ManifestError(`${object.kind} ${object.metadata?.name ?? '?'} is not valid: ${(error as Error).message}`, { cause: error });
    }
  }
  return objects;
}

/** The objects as one multi-document YAML file (`kubectl apply -f` reads it too). */
export function manifestsYaml(objects: readonly StampObject[]): string {
  return objects.map((o) => stringify(o.toJSON(), { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
