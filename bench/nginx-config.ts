// NGINX configuration shared by the upstream and the `nginx` target: foreground, no access log,
// every file it writes kept in the run's temporary folder, and keep-alive connections that are not
// cut after 1000 requests (NGINX's default), which would otherwise penalise whoever connects to it.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startProcess, type ManagedProcess } from './processes.ts';

/** Writes `dir/nginx.conf` around the given `server { … }` blocks and starts NGINX on it. */
export async function startNginx(name: string, binary: string, dir: string, workers: number, httpBody: string): Promise<ManagedProcess> {
  mkdirSync(dir, { recursive: true });
  // NGINX's workers run as an unprivileged user when started as root: they must reach the files.
  chmodSync(dir, 0o755);
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes ${workers};
daemon off;
pid ${path.join(dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  default_type application/json;
  client_body_temp_path ${path.join(dir, 'client_body')};
  proxy_temp_path ${path.join(dir, 'proxy')};
  fastcgi_temp_path ${path.join(dir, 'fastcgi')};
  uwsgi_temp_path ${path.join(dir, 'uwsgi')};
  scgi_temp_path ${path.join(dir, 'scgi')};
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_max_body_size 2m;
  client_body_buffer_size 256k;
${httpBody}
}
`,
  );
  // -e stderr: the error log before the config is read, so no write to /var/log is attempted.
  return startProcess(name, binary, ['-e', 'stderr', '-p', dir, '-c', conf]);
}
