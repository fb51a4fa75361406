// `npm run load`: the performance proof of issue #6 in one run.
// 1. Overhead, side by side, for Hono and Express: the example app bare, behind a pass-through
//    middleware, audited and with the pino peer (overhead.ts), in rounds.
// 2. The three production load profiles (sustained, spike, many tenants) against a real OpenSearch node, each ending with the
//    accounting check (profiles.ts): sustained, spike and multi-tenant.
// Writes bench/results/load.json and load.md, then regenerates BENCHMARKS.md.
// Starts the project's OpenSearch dev node (port 9255) for the profiles unless AUDIT_OPENSEARCH_URL
// names one, and stops what it started. `--cluster` runs only the profiles, against the deployment
// guide's shape started here (three nodes on 9421-9423, five primaries, one replica), and writes
// bench/results/load-cluster.json, shown next to the single-node figures.
//   tsx bench/load/run.ts [--short] [--cluster] [--duration S] [--sustained S] [--spike-rate N] ...
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { DevCluster } from '../../scripts/opensearch/dev-cluster.js';
import { DevNode } from '../../scripts/opensearch/dev-node.js';
import { type Framework, frameworks } from './apps.js';
import { type OverheadResult, runOverhead } from './overhead.js';
import { type OpenSearchTarget, type ProfileResult, type ProfileSpec, runProfile } from './profiles.js';
import { loadMarkdown } from './report.js';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '32' },
    'paced-rate': { type: 'string', default: '5000' },
    'express-paced-rate': { type: 'string', default: '1000' },
    rounds: { type: 'string' },
    frameworks: { type: 'string' },
    profiles: { type: 'string', default: 'sustained,spike,multi-tenant' },
    overhead: { type: 'boolean', default: true },
    'no-overhead': { type: 'boolean', default: false },
    sustained: { type: 'string' },
    'sustained-rate': { type: 'string', default: '5000' },
    'spike-rate': { type: 'string', default: '20000' },
    'spike-duration': { type: 'string' },
    'tenants-rate': { type: 'string', default: '10000' },
    'tenants-duration': { type: 'string' },
    orgs: { type: 'string', default: '100' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`usage: npm run load -- [options]
  --short                 CI version: Hono only, 1.5 s windows, one round, 10 s profiles (about 3 minutes)
  --cluster               only the profiles, against a three-node cluster started here (ports
                          9421-9423, 5 primaries, 1 replica); writes bench/results/load-cluster.json
  --duration S            overhead windows (saturation and paced), default 10 (LOAD_DURATION)
  --warmup S              closed-loop warm-up before each variant, default 2
  --rounds N              rounds of the overhead comparison, default 2 (short: 1)
  --frameworks LIST       hono,express (default both; short: hono)
  --paced-rate N          open-loop rate of the latency comparison, default 5000 req/s
  --express-paced-rate N  the same for Express, default 1000 req/s (below its saturation here)
  --no-overhead           skip the bare/passthrough/audited/peer comparison
  --profiles LIST         sustained,spike,multi-tenant (default all; "none" skips them)
  --sustained S           sustained profile duration, default 60, at most 3600
  --sustained-rate N      default 5000 req/s
  --spike-rate N          default 20000 req/s;  --spike-duration S  default 30
  --tenants-rate N        default 10000 req/s;  --tenants-duration S  default 30;  --orgs N  default 100`);
  process.exit(0);
}
const short = values.short;
const onCluster = values.cluster;
const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
const duration = num(values.duration ?? process.env.LOAD_DURATION, short ? 1.5 : 10);
const sustained = Math.min(3600, num(values.sustained, short ? 10 : 60));
const wanted = values.profiles === 'none' ? [] : (values.profiles as string).split(',');
const specs: ProfileSpec[] = [
  { name: 'sustained' as const, rate: num(values['sustained-rate'], 5000), duration: sustained, orgs: 10 },
  {
    name: 'spike' as const,
    rate: num(values['spike-rate'], 20000),
    duration: num(values['spike-duration'], short ? 10 : 30),
    orgs: 10,
  },
  {
    name: 'multi-tenant' as const,
    rate: num(values['tenants-rate'], 10000),
    duration: num(values['tenants-duration'], short ? 10 : 30),
    orgs: num(values.orgs, 100),
  },
].filter((s) => wanted.includes(s.name));

const started = Date.now();
let overhead: OverheadResult | undefined;
// The overhead comparison has no OpenSearch in it: a cluster run is the profiles alone.
if (!values['no-overhead'] && !onCluster) {
  overhead = await runOverhead({
    duration,
    warmup: num(values.warmup, short ? 0.5 : 2),
    connections: Number(values.connections),
    pacedRate: Number(values['paced-rate']),
    expressPacedRate: Number(values['express-paced-rate']),
    rounds: num(values.rounds, short ? 1 : 2),
    frameworks: (values.frameworks ?? (short ? 'hono' : 'hono,express')).split(',').map((f) => {
      if (!frameworks.includes(f as Framework))
        throw new Error(`--frameworks: unknown ${f} (${frameworks.join(', ')})`);
      return f as Framework;
    }),
  });
}

const profiles: ProfileResult[] = [];
if (specs.length > 0) {
  // Ours to start and stop: the cluster, or the dev node unless AUDIT_OPENSEARCH_URL names one.
  const ours: { stop(): Promise<void> } | undefined = onCluster
    ? new DevCluster({ name: 'load-cluster', basePort: 9421, fresh: true, startTimeoutMs: 300_000 })
    : process.env.AUDIT_OPENSEARCH_URL
      ? undefined
      : new DevNode({ port: 9255, name: 'load', heap: '1g' });
  try {
    let target: OpenSearchTarget;
    if (ours instanceof DevCluster) {
      const urls = await ours.start();
      const pids = ours.members.map((m) => m.pid()).filter((p) => p !== undefined);
      target = { urls, shards: 5, replicas: 1, pids };
    } else if (ours instanceof DevNode) {
      const url = await ours.start();
      target = { urls: [url], shards: 1, replicas: 0, pids: [ours.pid()].filter((p) => p !== undefined) };
    } else target = { urls: [process.env.AUDIT_OPENSEARCH_URL as string], shards: 1, replicas: 0, pids: [] };
    const runId = Date.now().toString(36);
    for (const spec of specs) profiles.push(await runProfile(spec, target, runId));
  } finally {
    await ours?.stop();
  }
}

const out = {
  benchmark: 'load',
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? '',
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  short,
  cluster: onCluster,
  wall_seconds: Math.round((Date.now() - started) / 1000),
  overhead,
  profiles,
};
const dir = new URL('../results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const name = onCluster ? 'load-cluster' : short ? 'load-short' : 'load';
writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify(out, null, 2)}\n`);
const md = loadMarkdown(out);
writeFileSync(new URL(`${name}.md`, dir), md);
console.log(`\n${md}`);
const failed = (overhead && !overhead.accounting.ok) || profiles.some((p) => !p.accounting.ok);
if (failed) {
  console.error('load: accounting MISMATCH (see above)');
  process.exitCode = 1;
}
// BENCHMARKS.md is regenerated from every results file, this one included.
if (!short) await import('../summarize.js');
