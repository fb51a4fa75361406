// What the harness reads about a server process from /proc: CPU time (whole process, or one
// thread) and resident memory. Linux only, like the rest of the load harness.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const tickUs = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** User + system CPU µs of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat file. */
export function statCpuUs(file: string): number {
  const stat = readFileSync(file, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * tickUs; // utime + stime: fields 14 and 15, counted from field 3
}

/** CPU µs used so far by the whole process. */
export const processCpuUs = (pid: number): number => statCpuUs(`/proc/${pid}/stat`);

/** CPU µs used so far by the process's main thread (its thread id is its pid). */
export const mainThreadCpuUs = (pid: number): number => statCpuUs(`/proc/${pid}/task/${pid}/stat`);

/** Resident set size in MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** The machine's CPU time so far, in µs summed over every core, by kind (from /proc/stat). */
export interface MachineCpu {
  busy: number;
  idle: number;
  steal: number;
}

export function machineCpuUs(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is in user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map((x) => Number(x) * tickUs);
  return {
    busy: (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0),
    idle: (idle ?? 0) + (iowait ?? 0),
    steal: steal ?? 0,
  };
}
