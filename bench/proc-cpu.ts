// CPU time of a process group, from /proc/<pid>/stat (utime + stime of every live member, threads
// included). Each bench process leads its own group, so the group is the target: NGINX master and
// workers, or one Node.js process with its helper threads.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const clockTicksPerSecond = readClockTicks();

export const procAvailable = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

/** CPU seconds used so far by the live members of process group `pgid`; null without /proc. */
export function groupCpuSeconds(pgid: number): number | null {
  if (!procAvailable) return null;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const fields = statFields(entry);
    // After "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    if (fields === null || Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / clockTicksPerSecond;
}

function statFields(pid: string): string[] | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null; // the process ended between readdir and read
  }
  // comm may hold spaces and parentheses: the fields start after the last ")".
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function readClockTicks(): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}

export interface BackgroundCpu {
  /** CPU the whole machine used while sampled, in percent of one core (200 = two cores busy). */
  busyPercent: number;
  /** The busiest processes over the sample, busiest first. */
  top: { pid: number; name: string; percent: number }[];
}

/**
 * What the machine does before the run starts anything: a bench shares the cores with whatever else
 * is running, so a busy machine is worth a warning (and a line in the results).
 */
export async function sampleBackgroundCpu(ms = 1000): Promise<BackgroundCpu | null> {
  if (!procAvailable) return null;
  const before = processTicks();
  const busyBefore = machineBusyTicks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = processTicks();
  const busyAfter = machineBusyTicks();
  const toPercent = (ticks: number) => (ticks / clockTicksPerSecond / (ms / 1000)) * 100;
  const top: BackgroundCpu['top'] = [];
  for (const [pid, { name, ticks }] of after) {
    const delta = ticks - (before.get(pid)?.ticks ?? ticks);
    if (pid !== process.pid && delta > 0) top.push({ pid, name, percent: toPercent(delta) });
  }
  top.sort((a, b) => b.percent - a.percent);
  return { busyPercent: toPercent(busyAfter - busyBefore), top: top.filter((p) => p.percent >= 5).slice(0, 3) };
}

function processTicks(): Map<number, { name: string; ticks: number }> {
  const result = new Map<number, { name: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    const name = commandLine(entry) || stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    result.set(Number(entry), { name, ticks: Number(fields[11]) + Number(fields[12]) });
  }
  return result;
}

/** Ticks the machine spent not idle (the `cpu` line of /proc/stat, less idle and iowait). */
function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.slice(0, 8).reduce((sum, v) => sum + v, 0);
  return total - (values[3] ?? 0) - (values[4] ?? 0);
}

function commandLine(pid: string): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
    return text.length > 80 ? `${text.slice(0, 79)}…` : text;
  } catch {
    return '';
  }
}
