// A self-signed certificate made for a test, with the openssl command of this machine.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export function makeCertificate(dir: string, names: string[]): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${names[0]!.replace(/\W/g, '_')}.crt`);
  const keyFile = join(dir, `${names[0]!.replace(/\W/g, '_')}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`, '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { certFile, keyFile };
}
