// Load generator on raw keep-alive sockets (127.0.0.1 only), run in its own process so its CPU is
// not the server's. Two modes:
// - closed: `connections` sockets each send one request, wait for the answer, repeat, for
//   `duration` seconds: the saturation throughput.
// - paced: an open loop at `rate` requests/s; request i is due at start + i/rate and its latency
//   is measured from that scheduled time, not from when a socket got free, so a stall delays
//   every request behind it in the figures too (no coordinated omission). Sockets are opened as
//   needed, up to `connections`.
// A request is either one fixed request or, with `mix`, the n-th request of the example
// traffic mix (many organizations, a unique x-request-id each), counted per organization.
// Prints one JSON line of results, or, with --serve, runs what it is sent over IPC.
//   node --import tsx bench/load/generator.ts '<json options>' | --serve
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plan } from '../../examples/traffic.js';

export interface FixedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface GeneratorOptions {
  port: number;
  mode: 'closed' | 'paced';
  duration: number;
  connections: number;
  /** Seconds at the start whose requests count, but not in the latency figures. */
  warmup?: number;
  /** Paced mode: requests per second. */
  rate?: number;
  request?: FixedRequest;
  /** Use the example traffic mix over `orgs` organizations instead of `request`. */
  mix?: { orgs: number; prefix: string };
}

export interface GeneratorResult {
  mode: 'closed' | 'paced';
  target_rps?: number;
  scheduled: number;
  completed: number;
  errors: number;
  /** Paced: requests still unsent when the run ended (the server fell behind). */
  unsent: number;
  non2xx: number;
  unexpected_status: number;
  statuses: Record<string, number>;
  per_org?: Record<string, number>;
  seconds: number;
  rps: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  max_open_connections: number;
  send_lag_p50_us?: number;
  send_lag_p99_us?: number;
}

function build(req: FixedRequest, port: number): Buffer {
  const body = req.body ?? '';
  const head = Object.entries({ host: `127.0.0.1:${port}`, ...req.headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const length = req.body === undefined ? '' : `content-length: ${Buffer.byteLength(body)}\r\n`;
  return Buffer.from(`${req.method} ${req.path} HTTP/1.1\r\n${head}${length}\r\n${body}`);
}

/** One keep-alive connection with at most one request in flight. */
class Connection {
  readonly socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #done: ((status: number) => void) | undefined;
  ready: Promise<void>;
  /** False once the socket closed (a keep-alive timeout of the server, or an error). */
  alive = true;

  constructor(port: number, onError: (err: Error) => void) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.ready = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    this.socket.on('error', (err) => {
      const done = this.#done;
      this.#done = undefined;
      onError(err);
      done?.(0);
    });
    this.socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.socket.once('close', () => {
      this.alive = false;
      const done = this.#done;
      this.#done = undefined;
      if (done) {
        onError(new Error('connection closed with a request in flight'));
        done(0);
      }
    });
  }

  send(request: Buffer, done: (status: number) => void): void {
    this.#done = done;
    this.socket.write(request);
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    for (;;) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers = this.#buf.subarray(0, end).toString('latin1');
      const len = /\r\ncontent-length: *(\d+)/i.exec(headers);
      let total: number;
      if (len) total = end + 4 + Number(len[1]);
      else if (/\r\ntransfer-encoding: *chunked/i.test(headers)) {
        const term = this.#buf.indexOf('\r\n0\r\n\r\n', end);
        if (term < 0) return;
        total = term + 7;
      } else total = end + 4;
      if (this.#buf.length < total) return;
      this.#buf = this.#buf.subarray(total);
      const done = this.#done;
      this.#done = undefined;
      done?.(Number(headers.slice(9, 12)));
    }
  }
}

export async function generate(o: GeneratorOptions): Promise<GeneratorResult> {
  const fixed = o.request ? build(o.request, o.port) : undefined;
  // Requests in flight: organization and expected status (a Map, so an hour's run stays small).
  const inFlight = new Map<number, { org: string; status: number }>();
  const requestFor = (n: number): Buffer => {
    if (fixed) return fixed;
    const mix = o.mix as { orgs: number; prefix: string };
    const p = plan(n, mix.orgs);
    inFlight.set(n, { org: p.org, status: p.status });
    return build(
      {
        method: p.method,
        path: `${p.path}?n=${n}`,
        headers: {
          'x-organization-id': p.org,
          'x-actor-id': `user-${n % 7}`,
          'x-actor-type': 'user',
          'x-request-id': `${mix.prefix}-${n}`,
          ...(p.body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(p.body !== undefined && { body: p.body }),
      },
      o.port,
    );
  };

  const paced = o.mode === 'paced';
  const rate = o.rate ?? 0;
  const total = paced ? Math.round(rate * o.duration) : Number.POSITIVE_INFINITY;
  // Latencies in µs; a typed array keeps an hour at 5,000 req/s (18 M samples) at 72 MB.
  let latencies = new Float32Array(paced ? total : 1 << 20);
  // Paced: how late each request left the generator (timer granularity, a busy generator): the
  // floor under every variant's latency, reported so it can be told apart from the server's.
  const lags = new Float32Array(paced ? total : 0);
  let completed = 0;
  /** Latency samples: requests due after the warm-up. */
  let measured = 0;
  let measureFrom = 0;
  let errors = 0;
  let unexpected = 0;
  const statuses: Record<string, number> = {};
  const perOrg: Record<string, number> = {};
  const record = (n: number, dueAt: number, status: number) => {
    if (status === 0) {
      inFlight.delete(n);
      return;
    }
    completed++;
    if (dueAt >= measureFrom) {
      if (measured === latencies.length) {
        const grown = new Float32Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[measured++] = (performance.now() - dueAt) * 1000;
    }
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (!fixed) {
      const want = inFlight.get(n) as { org: string; status: number };
      inFlight.delete(n);
      perOrg[want.org] = (perOrg[want.org] ?? 0) + 1;
      if (want.status !== status) unexpected++;
    }
  };

  const started = performance.now();
  measureFrom = started + (o.warmup ?? 0) * 1000;
  const until = started + o.duration * 1000;
  let next = 0;
  let unsent = 0;
  let openConnections = 0;
  let maxOpen = 0;
  const idle: Connection[] = [];
  const onError = () => {
    errors++;
  };
  const open = async (): Promise<Connection> => {
    openConnections++;
    maxOpen = Math.max(maxOpen, openConnections);
    const c = new Connection(o.port, onError);
    c.socket.once('close', () => openConnections--);
    await c.ready;
    return c;
  };

  if (!paced) {
    const loop = async () => {
      const c = await open();
      while (performance.now() < until) {
        const n = next++;
        const t = performance.now();
        const status = await new Promise<number>((resolve) => c.send(requestFor(n), resolve));
        if (status === 0) return;
        record(n, t, status);
      }
      c.socket.end();
    };
    await Promise.all(Array.from({ length: o.connections }, loop));
  } else {
    const intervalMs = 1000 / rate;
    const due = (n: number) => started + n * intervalMs;
    // Requests are sent in schedule order: the backlog is the range [dispatched, next).
    let dispatched = 0;
    const backlog = () => next - dispatched;
    let opening = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let outstanding = 0;
    let scheduling = true;
    let abandoned = false;
    const dispatch = () => {
      while (backlog() > 0) {
        let c = idle.pop();
        while (c && !c.alive) c = idle.pop();
        if (!c) {
          if (openConnections + opening < o.connections && opening < backlog()) {
            opening++;
            void open().then((fresh) => {
              opening--;
              idle.push(fresh);
              dispatch();
            });
          }
          return;
        }
        const n = dispatched++;
        lags[n] = (performance.now() - due(n)) * 1000;
        outstanding++;
        c.send(requestFor(n), (status) => {
          outstanding--;
          record(n, due(n), status);
          if (status !== 0) idle.push(c);
          if (!abandoned) dispatch();
          if (!scheduling && outstanding === 0 && (backlog() === 0 || abandoned)) finish();
        });
      }
    };
    const tick = () => {
      const now = performance.now();
      while (next < total && due(next) <= now) next++;
      dispatch();
      if (next < total) setTimeout(tick, Math.max(0, due(next) - performance.now()));
      else {
        scheduling = false;
        if (outstanding === 0 && backlog() === 0) finish();
      }
    };
    tick();
    // Requests still queued 30 s after the schedule ended are reported as unsent.
    // Requests in flight then are still awaited (the server audits them).
    const giveUp = setTimeout(
      () => {
        abandoned = true;
        if (outstanding === 0) finish();
      },
      o.duration * 1000 + 30_000,
    );
    await finished;
    clearTimeout(giveUp);
    unsent = backlog();
    for (const c of idle) c.socket.end();
  }

  const lastAt = performance.now();
  const seconds = (lastAt - started) / 1000;
  const sorted = latencies.subarray(0, measured).sort();
  const pct = (p: number) => sorted[Math.min(measured - 1, Math.floor(p * measured))] ?? 0;
  const sortedLags = lags.subarray(0, paced ? total - unsent : 0).sort();
  const lag = (p: number) => sortedLags[Math.floor(p * sortedLags.length)] ?? 0;
  const non2xx = Object.entries(statuses).reduce((n, [s, c]) => (s.startsWith('2') ? n : n + c), 0);
  return {
    mode: o.mode,
    ...(paced && { target_rps: rate }),
    scheduled: paced ? total : next,
    completed,
    errors,
    unsent,
    non2xx,
    unexpected_status: unexpected,
    statuses,
    ...(!fixed && { per_org: perOrg }),
    seconds,
    rps: completed / seconds,
    p50_us: pct(0.5),
    p99_us: pct(0.99),
    p999_us: pct(0.999),
    max_us: sorted[measured - 1] ?? 0,
    max_open_connections: maxOpen,
    ...(paced && { send_lag_p50_us: lag(0.5), send_lag_p99_us: lag(0.99) }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  if (process.argv[2] === '--serve') {
    // One generator process for a whole comparison (children.ts startGenerator): one run per
    // message, answered with { result }; spares a process start (a second or more) per window.
    process.on('message', async (o: GeneratorOptions) => {
      process.send?.({ result: await generate(o) });
    });
  } else {
    const result = await generate(JSON.parse(process.argv[2] ?? '{}') as GeneratorOptions);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
}
