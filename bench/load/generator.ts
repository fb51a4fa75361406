// Closed-loop load generator on raw keep-alive sockets (127.0.0.1 only), run in its own process:
// `connections` sockets each send one prebuilt request, wait for the full response, repeat, for
// `duration` seconds; then in-flight requests finish. Prints one JSON line of results.
//   node --import tsx bench/load/generator.ts '<json options>'
import { connect } from 'node:net';

interface Options {
  port: number;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  connections: number;
  duration: number;
}

const o = JSON.parse(process.argv[2] ?? '{}') as Options;
const body = o.body === undefined ? '' : o.body;
const head = Object.entries({ host: `127.0.0.1:${o.port}`, ...o.headers })
  .map(([k, v]) => `${k}: ${v}\r\n`)
  .join('');
const request = Buffer.from(
  `${o.method} ${o.path} HTTP/1.1\r\n${head}${o.body === undefined ? '' : `content-length: ${Buffer.byteLength(body)}\r\n`}\r\n${body}`,
);

const latenciesUs: number[] = [];
const statuses: Record<string, number> = {};
let errors = 0;
const until = performance.now() + o.duration * 1000;
const started = performance.now();

function run(): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: o.port, noDelay: true });
    let buf: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    const send = () => {
      if (performance.now() >= until) return void socket.end(resolve);
      sentAt = performance.now();
      socket.write(request);
    };
    socket.on('connect', send);
    socket.on('error', () => {
      errors++;
      resolve();
    });
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const headers = buf.subarray(0, end).toString('latin1');
        const len = /\r\ncontent-length: *(\d+)/i.exec(headers);
        let total: number;
        if (len) total = end + 4 + Number(len[1]);
        else if (/\r\ntransfer-encoding: *chunked/i.test(headers)) {
          const term = buf.indexOf('\r\n0\r\n\r\n', end);
          if (term < 0) return;
          total = term + 7;
        } else total = end + 4;
        if (buf.length < total) return;
        const status = headers.slice(9, 12);
        statuses[status] = (statuses[status] ?? 0) + 1;
        latenciesUs.push((performance.now() - sentAt) * 1000);
        buf = buf.subarray(total);
        send();
      }
    });
  });
}

await Promise.all(Array.from({ length: o.connections }, run));
const seconds = (performance.now() - started) / 1000;
latenciesUs.sort((a, b) => a - b);
const pct = (p: number) =>
  latenciesUs[Math.min(latenciesUs.length - 1, Math.floor(p * latenciesUs.length))] ?? 0;
const completed = latenciesUs.length;
const non2xx = Object.entries(statuses).reduce((n, [s, c]) => (s.startsWith('2') ? n : n + c), 0);
console.log(
  JSON.stringify({
    completed,
    non2xx,
    errors,
    statuses,
    seconds,
    rps: completed / seconds,
    p50_us: pct(0.5),
    p99_us: pct(0.99),
  }),
);
