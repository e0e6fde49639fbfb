// The certificates of the dynamic config, loaded into secure contexts and chosen by SNI: an exact
// name first, then a wildcard one level up, then the first certificate as the default (as Traefik
// falls back to its default certificate).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export class TlsCertificates {
  readonly #byName = new Map<string, SecureContext>();
  readonly #default: SecureContext | undefined;
  readonly names: string[] = [];

  constructor(files: readonly CertificateFiles[], where = 'tls.certificates') {
    let first: SecureContext | undefined;
    files.forEach((file, i) => {
      let cert: Buffer;
      let key: Buffer;
      try {
        cert = readFileSync(file.certFile);
        key = readFileSync(file.keyFile);
      } catch (error) {
        throw new Error(`${where}[${i}]: cannot read ${(error as NodeJS.ErrnoException).path ?? 'a file'}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
      }
      let context: SecureContext;
      let names: string[];
      try {
        context = createSecureContext({ cert, key });
        names = certificateNames(new X509Certificate(cert));
      } catch (error) {
        throw new Error(`${where}[${i}]: ${file.certFile} with ${file.keyFile}: ${(error as Error).message}`, { cause: error });
      }
      first ??= context;
      for (const name of names) {
        if (!this.#byName.has(name)) this.#byName.set(name, context);
        this.names.push(name);
      }
    });
    this.#default = first;
  }

  get size(): number {
    return this.#default === undefined ? 0 : this.#byName.size || 1;
  }

  contextFor(serverName: string): SecureContext | undefined {
    const name = serverName.toLowerCase();
    const exact = this.#byName.get(name);
    if (exact) return exact;
    const dot = name.indexOf('.');
    const wildcard = dot < 0 ? undefined : this.#byName.get('*' + name.slice(dot));
    return wildcard ?? this.#default;
  }
}

function certificateNames(cert: X509Certificate): string[] {
  const names = (cert.subjectAltName ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:') || entry.startsWith('IP Address:'))
    .map((entry) => entry.slice(entry.indexOf(':') + 1).toLowerCase());
  const commonName = /CN=([^\n,]+)/.exec(cert.subject)?.[1];
  if (names.length === 0 && commonName) names.push(commonName.toLowerCase());
  return names;
}
