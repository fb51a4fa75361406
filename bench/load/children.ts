// The harness's child processes: a server variant (server.ts) spoken to over IPC, and the load
// generator (generator.ts) in a process of its own so its CPU is not counted as the server's.
import { type ChildProcess, execFile as execFileCb, fork } from 'node:child_process';
import { promisify } from 'node:util';
import type { Framework, Variant } from './apps.js';
import type { GeneratorOptions, GeneratorResult } from './generator.js';

export type { Framework, Variant } from './apps.js';

const execFile = promisify(execFileCb);
const here = (p: string) => new URL(p, import.meta.url).pathname;

export interface AuditStatsLite {
  captured: number;
  indexed: number;
  spooled: number;
  deadLettered: number;
  inFlight: number;
  dropped: { total: number; byReason: Record<string, number> };
}

export interface MetricJson {
  name: string;
  values: Array<{ value: number; metricName?: string; labels?: Record<string, string | number> }>;
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Set when the audited variant spools (no OpenSearch). */
  spool?: string;
  /** Sends `msg` and resolves with the first answer carrying `key`. */
  ask<T>(msg: object, key: string): Promise<T>;
}

function answer<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (!(key in m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => reject(new Error(`server exited (${code}) before '${key}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Starts a server variant; `env` entries set to undefined are removed from its environment.
 * `nodeArgs` go before the script (profile.ts passes --cpu-prof and its options).
 */
export async function startServer(
  variant: Variant,
  env: NodeJS.ProcessEnv = {},
  framework: Framework = 'hono',
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const child = fork(here('./server.ts'), [variant, framework], {
    execArgv: [...nodeArgs, '--import', 'tsx'],
    stdio: 'inherit',
    env: childEnv,
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const ready = await answer<{ port: number; spool?: string }>(child, 'ready').finally(() =>
    clearTimeout(timeout),
  );
  return {
    child,
    pid: child.pid as number,
    port: ready.port,
    ...(ready.spool !== undefined && { spool: ready.spool }),
    ask<T>(msg: object, key: string) {
      const reply = answer<T>(child, key);
      child.send(msg);
      return reply;
    },
  };
}

/**
 * Waits until the audited server has an outcome for every captured event (at most `ms`); with
 * `replayed`, also until nothing is left in its spool (what overload spilled is in OpenSearch).
 */
export async function settle(server: ServerProcess, ms = 60_000, replayed = false): Promise<number> {
  const until = Date.now() + ms;
  for (;;) {
    const { report } = await server.ask<{ report: { inFlight: number; spooled?: number } }>(
      { report: true },
      'report',
    );
    const left = report.inFlight + (replayed ? (report.spooled ?? 0) : 0);
    if (left === 0 || Date.now() > until) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function stopServer(
  server: ServerProcess,
): Promise<{ stats?: AuditStatsLite; metrics?: MetricJson[] }> {
  return server.ask({ stop: true }, 'stopped');
}

export async function runGenerator(opts: GeneratorOptions): Promise<GeneratorResult> {
  const { stdout } = await execFile(
    process.execPath,
    ['--import', 'tsx', here('./generator.ts'), JSON.stringify(opts)],
    { maxBuffer: 16 << 20 },
  );
  return JSON.parse(stdout) as GeneratorResult;
}

export interface GeneratorProcess {
  run(opts: GeneratorOptions): Promise<GeneratorResult>;
  stop(): void;
}

/** A generator process kept for many runs (generator.ts --serve), one run at a time. */
export async function startGenerator(): Promise<GeneratorProcess> {
  const child = fork(here('./generator.ts'), ['--serve'], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  return {
    async run(opts) {
      const reply = answer<{ result: GeneratorResult }>(child, 'result');
      child.send(opts);
      return (await reply).result;
    },
    stop() {
      child.kill();
    },
  };
}

/** histogram_quantile over a prom-client JSON histogram (linear within the bucket). */
export function quantile(metrics: MetricJson[] | undefined, name: string, q: number): number {
  const m = metrics?.find((x) => x.name === name);
  const buckets = (m?.values ?? [])
    .filter((v) => v.metricName === `${name}_bucket`)
    .map((v) => ({
      le: v.labels?.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels?.le),
      n: v.value,
    }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.n ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const b of buckets) {
    if (b.n >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevN)) / Math.max(1, b.n - prevN);
    }
    prevLe = b.le;
    prevN = b.n;
  }
  return prevLe;
}
