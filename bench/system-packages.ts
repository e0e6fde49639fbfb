// The Debian packages a run can use (wrk, nginx, haproxy, caddy): found on PATH, or installed with
// apt-get when the run is root and allowed to, or else reported with the command that installs them.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export interface SystemTool {
  /** Executable name looked up on PATH (and in /usr/sbin, where Debian puts daemons). */
  binary: string;
  /** Debian package that provides it. */
  debianPackage: string;
}

export const wrk: SystemTool = { binary: 'wrk', debianPackage: 'wrk' };
export const nginx: SystemTool = { binary: 'nginx', debianPackage: 'nginx' };
export const haproxy: SystemTool = { binary: 'haproxy', debianPackage: 'haproxy' };
export const caddy: SystemTool = { binary: 'caddy', debianPackage: 'caddy' };

const searchDirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of the tool's executable, or null when it is not installed. */
export function findTool(tool: SystemTool): string | null {
  for (const dir of searchDirs) {
    const candidate = path.join(dir, tool.binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function installHint(tools: SystemTool[]): string {
  return `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${tools.map((t) => t.debianPackage).join(' ')}`;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Installs the missing tools with apt-get when running as root (one `apt-get update`, then one
 * install, each bounded in time). Returns, for each tool still missing afterwards, why.
 */
export function ensureTools(tools: SystemTool[], allowInstall: boolean, log: (line: string) => void): Map<SystemTool, string> {
  const missing = tools.filter((t) => findTool(t) === null);
  const reasons = new Map<SystemTool, string>();
  if (missing.length === 0) return reasons;
  if (!allowInstall || !isRoot || findTool({ binary: 'apt-get', debianPackage: 'apt' }) === null) {
    const why = !allowInstall ? 'not installed (--no-install given)' : !isRoot ? 'not installed (not root, so not installing it)' : 'not installed and apt-get is not available';
    for (const t of missing) reasons.set(t, `${why}; install with: ${installHint([t])}`);
    return reasons;
  }
  // Only packages Debian's archive actually has are asked for, so one absent name cannot fail the rest.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing from Debian's packages: ${missing.map((t) => t.debianPackage).join(' ')} (apt-get update first; up to 5 minutes)`);
  const update = spawnSync('apt-get', ['update'], { env, encoding: 'utf8', timeout: 120_000 });
  if (update.status !== 0) log(`apt-get update failed (${update.error?.message ?? `code ${update.status}`}): ${tailOf(update.stderr)}`);
  const installable = missing.filter((t) => hasCandidate(t.debianPackage));
  for (const t of missing) if (!installable.includes(t)) reasons.set(t, `Debian's archive here has no package ${t.debianPackage}`);
  if (installable.length > 0) {
    const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...installable.map((t) => t.debianPackage)], { env, encoding: 'utf8', timeout: 300_000 });
    if (install.status !== 0) log(`apt-get install failed (${install.error?.message ?? `code ${install.status}`}): ${tailOf(install.stderr)}`);
    for (const t of installable) if (findTool(t) === null) reasons.set(t, `apt-get install ${t.debianPackage} did not provide ${t.binary}`);
  }
  return reasons;
}

function hasCandidate(debianPackage: string): boolean {
  try {
    const policy = execFileSync('apt-cache', ['policy', debianPackage], { encoding: 'utf8', timeout: 30_000 });
    const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
    return candidate !== undefined && candidate !== '(none)';
  } catch {
    return false;
  }
}

/** First line of `command args` (stdout then stderr), for version strings; '' when it fails. */
export function versionLine(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  const text = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim();
  return text.split('\n')[0]?.trim() ?? '';
}

function tailOf(text: string | null | undefined): string {
  return (text ?? '').trim().split('\n').slice(-5).join('\n');
}
