// Where the main thread's time goes, measured in the server (issue #14): the Hono example behind
// a pass-through middleware and audited, each run under `node --cpu-prof` (and a sampling heap
// profile that keeps collected objects, over the inspector) at saturation and at a paced rate.
// Each window's samples are cut out of the whole-life profile by their timestamps (the profile's
// clock is CLOCK_MONOTONIC, as process.hrtime), so start-up and warm-up are not in the figures.
// Self time is grouped by where the code lives (the audit's adapter, capture, encoder, ring, ...)
// and divided by the requests answered in the window; the difference audited − passthrough is the
// audit's cost step by step.
//   npx tsx bench/load/profile.ts [--duration S] [--rate N] [--interval µs] [--framework hono|express]
//                                 [--out DIR] [--summary PREFIX]
// Writes the raw profiles under DIR (default bench/results/tmp/profile-<framework>, not committed)
// and PREFIX.json and PREFIX.md (default bench/results/profile-<framework>), which
// docs/ARCHITECTURE.md cites; `npm run build` first.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Framework, Variant } from './apps.js';
import { type ServerProcess, settle, startGenerator, startServer, stopServer } from './children.js';
import type { GeneratorOptions } from './generator.js';
import { mainThreadCpuUs } from './proc.js';
import type { WindowStats } from './server.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '2000' },
    interval: { type: 'string', default: '100' },
    out: { type: 'string' },
    summary: { type: 'string' },
    framework: { type: 'string', default: 'hono' },
    variants: { type: 'string', default: 'passthrough,audited-nocapture,audited' },
  },
});
const duration = Number(values.duration);
const rate = Number(values.rate);
const framework = values.framework as Framework;
const root = fileURLToPath(new URL('../../', import.meta.url));
const out = values.out ?? join(root, 'bench/results/tmp', `profile-${framework}`);
const summaryPrefix = values.summary ?? join(root, 'bench/results', `profile-${framework}`);

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface CpuNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** Where a frame's code lives, for grouping self time. */
function category(frame: CallFrame): string | undefined {
  const { url, functionName: name } = frame;
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'program (native, unattributed)';
  if (url === '') {
    if (name === 'now' || name === 'hrtime') return 'clocks';
    return undefined; // a builtin: charged to its caller's place
  }
  if (url.includes('/node_modules/') || !url.includes('/dist/')) return library(url);
  if (url.includes('/dist/adapters/')) return 'audit: adapter';
  if (url.includes('/dist/capture/encoder.js')) return 'audit: encoder';
  if (url.includes('/dist/capture/')) return 'audit: capture (build-event, body, route)';
  if (url.includes('/dist/event.js')) return 'audit: encoder';
  if (url.includes('/dist/ring/')) return 'audit: ring producer';
  if (url.includes('/dist/audit.js')) return 'audit: Audit.capture';
  return 'audit: other';
}

/** The place of code outside the library's build. */
function library(url: string): string {
  // The library's own dependencies on the request path.
  if (url.includes('/msgpackr/')) return 'audit: encoder';
  if (url.includes('/prom-client/')) return 'audit: prom-client';
  if (url.includes('/piscina/')) return 'piscina';
  if (url.includes('/@hono/node-server/')) return 'framework: @hono/node-server';
  if (url.includes('/node_modules/hono/')) return 'framework: hono';
  if (
    /\/node_modules\/(express|router|body-parser|raw-body|finalhandler|send|on-finished|type-is|qs|iconv-lite)\//.test(
      url,
    )
  )
    return 'framework: express';
  if (url.includes('/examples/')) return 'app handlers';
  if (url.includes('/bench/')) return 'harness (server IPC)';
  if (url.includes('pino')) return 'pino';
  if (url.startsWith('node:')) return 'node core';
  return `other: ${url.replace(/^.*node_modules\//, '').split('/')[0]}`;
}

const PROMISE = /Promise|Async|await|Microtask|^then$|^resolve$|^reject$/;

const maps = new Map<string, SourceMap | null>();
/** file:line of a frame, in src/ when the build's source map knows it. */
function where(frame: CallFrame, line = frame.lineNumber + 1): string {
  const url = frame.url;
  if (!url) return '(builtin)';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (file.includes('/dist/') && !file.includes('node_modules')) {
    let map = maps.get(file);
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      } catch {
        map = null;
      }
      maps.set(file, map);
    }
    const e = map?.findEntry(line - 1, frame.columnNumber) as
      | { originalSource?: string; originalLine?: number }
      | undefined;
    if (e?.originalSource) {
      const src = e.originalSource.startsWith('file://')
        ? fileURLToPath(e.originalSource)
        : join(file, '..', e.originalSource);
      return `${relative(root, src)}:${(e.originalLine ?? 0) + 1}`;
    }
  }
  return `${file.startsWith('/') ? relative(root, file) : file}:${line}`;
}

interface Window {
  from_us: number;
  to_us: number;
  requests: number;
}

interface Breakdown {
  requests: number;
  /** Sampled main-thread time in the window (all but idle), µs per request. */
  sampled_us_per_req: number;
  by_category: Record<string, number>;
  /** Self time of builtins whose name is Promise/async machinery, µs per request (inside the categories too). */
  promise_builtins_us_per_req: number;
  top: Array<{ fn: string; at: string; category: string; us_per_req: number }>;
}

function analyzeCpu(profile: CpuProfile, w: Window): Breakdown {
  const byId = new Map<number, CpuNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // The place a node's self time is charged to: its own, or for a builtin its nearest caller's.
  const placeOf = new Map<number, { cat: string; frame: CallFrame }>();
  const place = (id: number): { cat: string; frame: CallFrame } => {
    const known = placeOf.get(id);
    if (known) return known;
    const node = byId.get(id) as CpuNode;
    let cat = category(node.callFrame);
    let frame = node.callFrame;
    let up = parent.get(id);
    while (cat === undefined && up !== undefined) {
      const p = byId.get(up) as CpuNode;
      cat = category(p.callFrame);
      frame = p.callFrame;
      up = parent.get(up);
    }
    const r = { cat: cat ?? 'other: builtin', frame: node.callFrame.url ? node.callFrame : frame };
    placeOf.set(id, r);
    return r;
  };
  const cats: Record<string, number> = {};
  const fns = new Map<string, { fn: string; at: string; category: string; us: number }>();
  let promise = 0;
  let total = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] as number;
    const next = profile.timeDeltas[i + 1];
    if (t < w.from_us || t >= w.to_us || next === undefined) continue;
    const id = profile.samples[i] as number;
    const node = byId.get(id) as CpuNode;
    const { cat } = place(id);
    if (cat === 'idle') continue;
    cats[cat] = (cats[cat] ?? 0) + next;
    total += next;
    if (!node.callFrame.url && PROMISE.test(node.callFrame.functionName)) promise += next;
    const key = `${node.callFrame.functionName}@${node.callFrame.url}:${node.callFrame.lineNumber}`;
    let f = fns.get(key);
    if (!f) {
      f = {
        fn: node.callFrame.functionName || '(anonymous)',
        at: where(node.callFrame),
        category: cat,
        us: 0,
      };
      fns.set(key, f);
    }
    f.us += next;
  }
  const per = (us: number) => us / w.requests;
  return {
    requests: w.requests,
    sampled_us_per_req: per(total),
    by_category: Object.fromEntries(
      Object.entries(cats)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, per(v)]),
    ),
    promise_builtins_us_per_req: per(promise),
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, 40)
      .map((f) => ({ fn: f.fn, at: f.at, category: f.category, us_per_req: per(f.us) })),
  };
}

function analyzeHeap(head: HeapNode, requests: number) {
  const sites = new Map<string, { fn: string; at: string; category: string; bytes: number }>();
  let total = 0;
  const cats: Record<string, number> = {};
  const walk = (n: HeapNode, inherited: { cat: string; frame: CallFrame }) => {
    const own = category(n.callFrame);
    const here = own !== undefined ? { cat: own, frame: n.callFrame } : inherited;
    if (n.selfSize > 0) {
      total += n.selfSize;
      cats[here.cat] = (cats[here.cat] ?? 0) + n.selfSize;
      const f = n.callFrame.url ? n.callFrame : here.frame;
      const key = `${n.callFrame.functionName}@${f.url}:${f.lineNumber}`;
      const s = sites.get(key) ?? {
        fn: n.callFrame.functionName || '(anonymous)',
        at: where(f),
        category: here.cat,
        bytes: 0,
      };
      s.bytes += n.selfSize;
      sites.set(key, s);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(head, { cat: 'other: root', frame: head.callFrame });
  return {
    sampled_bytes_per_req: total / requests,
    by_category: Object.fromEntries(
      Object.entries(cats)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, v / requests]),
    ),
    top: [...sites.values()]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 25)
      .map((s) => ({ fn: s.fn, at: s.at, category: s.category, bytes_per_req: s.bytes / requests })),
  };
}

const request = { method: 'GET', path: '/policies/pol-1', headers: { 'x-organization-id': 'org-017' } };
const body1k = JSON.stringify({ name: 'policy', rules: 'x'.repeat(990) });
const post = {
  method: 'POST',
  path: '/policies',
  headers: { 'x-organization-id': 'org-017', 'content-type': 'application/json' },
  body: body1k,
};

interface RunWindow {
  name: string;
  stats: WindowStats;
  requests: number;
  rps: number;
  main_cpu_us_per_req: number;
}

/** One measured window; with `heapFile`, under the sampling heap profiler (a window of its own: the
 * heap sampler's stack walks would show in the CPU profile). */
async function window(
  server: ServerProcess,
  gen: Awaited<ReturnType<typeof startGenerator>>,
  name: string,
  opts: GeneratorOptions,
  heapFile?: string,
): Promise<RunWindow> {
  if (heapFile) await server.ask({ heap: 'start' }, 'heaped');
  await server.ask({ window: 'start' }, 'window');
  const m0 = mainThreadCpuUs(server.pid);
  const r = await gen.run(opts);
  if (server.spool !== undefined) await settle(server);
  const m1 = mainThreadCpuUs(server.pid);
  const { window: stats } = await server.ask<{ window: WindowStats }>({ window: 'end' }, 'window');
  if (heapFile) await server.ask({ heap: 'stop', file: heapFile }, 'heaped');
  console.log(
    `${name}${heapFile ? ' (heap sampling)' : ''}: ${r.completed} requests, ${r.rps.toFixed(0)} req/s, main thread ${((m1 - m0) / r.completed).toFixed(1)} µs/req, GC ${((stats.gc_ms * 1000) / r.completed).toFixed(2)} µs/req, heap ${(stats.allocated_bytes / r.completed).toFixed(0)} B/req`,
  );
  return { name, stats, requests: r.completed, rps: r.rps, main_cpu_us_per_req: (m1 - m0) / r.completed };
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const gen = await startGenerator();
const summary: Record<string, unknown> = {
  date: new Date().toISOString(),
  framework,
  duration,
  paced_rate: rate,
  interval_us: Number(values.interval),
  windows: {},
};
const windows = summary.windows as Record<string, unknown>;
for (const variant of (values.variants as string).split(',')) {
  const dir = join(out, variant);
  mkdirSync(dir, { recursive: true });
  // 'audited-nocapture': the audited app with capture() a no-op (server.ts LOAD_ABLATE).
  const ablate = variant === 'audited-nocapture';
  const env = { AUDIT_OPENSEARCH_HOST: undefined, ...(ablate && { LOAD_ABLATE: 'capture' }) };
  const server = await startServer((ablate ? 'audited' : variant) as Variant, env, framework, [
    '--cpu-prof',
    '--cpu-prof-dir',
    dir,
    '--cpu-prof-interval',
    String(values.interval),
  ]);
  const base = { port: server.port, connections: 32 };
  await gen.run({ ...base, request, mode: 'closed', duration: 3 });
  await gen.run({ ...base, request: post, mode: 'closed', duration: 2 });
  const loads: Array<[string, GeneratorOptions]> = [
    ['GET-saturation', { ...base, request, mode: 'closed', duration }],
    [`GET-paced-${rate}`, { ...base, request, mode: 'paced', rate, duration, connections: 256 }],
    ['POST-saturation', { ...base, request: post, mode: 'closed', duration }],
    [`POST-paced-${rate}`, { ...base, request: post, mode: 'paced', rate, duration, connections: 256 }],
  ];
  const runs: Array<RunWindow & { heap: RunWindow & { file: string } }> = [];
  for (const [name, opts] of loads) {
    const cpu = await window(server, gen, name, opts);
    const file = join(dir, `${name}.heapprofile`);
    const heap = await window(server, gen, name, { ...opts, duration: Math.min(5, duration) }, file);
    runs.push({ ...cpu, heap: { ...heap, file } });
  }
  await stopServer(server);
  await new Promise((r) => setTimeout(r, 500));
  // Main thread's profile: thread id 0 in the name Node gives it (CPU.<date>.<time>.<pid>.<tid>.<seq>).
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const mainFile = files.find((f) => f.split('.')[4] === '0');
  if (!mainFile) throw new Error(`no main-thread CPU profile in ${dir}: ${files.join(', ')}`);
  const profile = JSON.parse(readFileSync(join(dir, mainFile), 'utf8')) as CpuProfile;
  for (const r of runs) {
    const w = {
      from_us: Number(BigInt(r.stats.from_ns) / 1000n),
      to_us: Number(BigInt(r.stats.to_ns) / 1000n),
      requests: r.requests,
    };
    const heap = JSON.parse(readFileSync(r.heap.file, 'utf8')) as { head: HeapNode };
    windows[`${variant} ${r.name}`] = {
      rps: r.rps,
      requests: r.requests,
      main_cpu_us_per_req: r.main_cpu_us_per_req,
      gc_us_per_req: (r.stats.gc_ms * 1000) / r.requests,
      alloc_bytes_per_req: r.stats.allocated_bytes / r.requests,
      cpu: analyzeCpu(profile, w),
      heap: analyzeHeap(heap.head, r.heap.requests),
    };
  }
}
gen.stop();
writeFileSync(`${summaryPrefix}.json`, `${JSON.stringify(summary, null, 2)}\n`);

// A readable summary: per category µs/req for each window, then the audited window's top functions.
const md: string[] = [`# CPU and heap profile (${framework}), ${summary.date}`, ''];
type W = {
  rps: number;
  main_cpu_us_per_req: number;
  gc_us_per_req: number;
  alloc_bytes_per_req: number;
  cpu: Breakdown;
  heap: ReturnType<typeof analyzeHeap>;
};
const ws = windows as Record<string, W>;
const names = Object.keys(ws);
const cats = [...new Set(names.flatMap((n) => Object.keys(ws[n]?.cpu.by_category ?? {})))];
md.push(`| category µs/req | ${names.join(' | ')} |`, `|---|${names.map(() => '--:').join('|')}|`);
for (const c of cats)
  md.push(`| ${c} | ${names.map((n) => (ws[n]?.cpu.by_category[c] ?? 0).toFixed(2)).join(' | ')} |`);
md.push(`| **sampled total** | ${names.map((n) => ws[n]?.cpu.sampled_us_per_req.toFixed(2)).join(' | ')} |`);
md.push(
  `| promise builtins (within the above) | ${names.map((n) => ws[n]?.cpu.promise_builtins_us_per_req.toFixed(2)).join(' | ')} |`,
);
md.push(
  `| main thread CPU from /proc | ${names.map((n) => ws[n]?.main_cpu_us_per_req.toFixed(2)).join(' | ')} |`,
);
md.push(`| GC (perf entries) | ${names.map((n) => ws[n]?.gc_us_per_req.toFixed(2)).join(' | ')} |`);
md.push(
  `| heap B/req (GCProfiler) | ${names.map((n) => ws[n]?.alloc_bytes_per_req.toFixed(0)).join(' | ')} |`,
);
md.push(
  `| heap B/req (sampling profile) | ${names.map((n) => ws[n]?.heap.sampled_bytes_per_req.toFixed(0)).join(' | ')} |`,
);
md.push(`| req/s | ${names.map((n) => ws[n]?.rps.toFixed(0)).join(' | ')} |`, '');
for (const n of names.filter((x) => x.startsWith('audited '))) {
  const w = ws[n] as W;
  md.push(`## ${n}: top self time`, '', '| µs/req | function | at | category |', '|--:|---|---|---|');
  for (const f of w.cpu.top.slice(0, 30))
    md.push(`| ${f.us_per_req.toFixed(3)} | ${f.fn} | ${f.at} | ${f.category} |`);
  md.push(
    '',
    `## ${n}: top allocation sites`,
    '',
    '| B/req | function | at | category |',
    '|--:|---|---|---|',
  );
  for (const s of w.heap.top.slice(0, 20))
    md.push(`| ${s.bytes_per_req.toFixed(0)} | ${s.fn} | ${s.at} | ${s.category} |`);
  md.push(
    '',
    `heap by category (B/req): ${Object.entries(w.heap.by_category)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ')}`,
    '',
  );
}
writeFileSync(`${summaryPrefix}.md`, `${md.join('\n')}\n`);
console.log(md.join('\n'));
