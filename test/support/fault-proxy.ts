// A fault-injecting HTTP proxy in front of the real OpenSearch node (127.0.0.1 only). It forwards
// every request and can, per the current mode: delay it or its answer, answer a share of `_bulk` requests with a
// whole-request 429 without forwarding, or forward a `_bulk` and rewrite a share of its items into
// 429 rejections (those items were really indexed, so their retry must come back as 409).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultMode {
  /** Hold each request this long before forwarding it. */
  latencyMs?: number;
  /** Forward at once but hold the node's answer this long: the write happens, the client may give up. */
  answerDelayMs?: number;
  /** Share of `_bulk` requests answered 429 without reaching the node. */
  rejectShare?: number;
  /** Share of items in forwarded `_bulk` answers rewritten to 429. */
  itemShare?: number;
}

export interface FaultProxy {
  url: string;
  mode: FaultMode;
  counts: { requests: number; rejected: number; itemsRewritten: number };
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const proxy: FaultProxy = {
    url: '',
    mode: {},
    counts: { requests: 0, rejected: 0, itemsRewritten: 0 },
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server = http.createServer((req, res) => {
    proxy.counts.requests++;
    const mode = { ...proxy.mode };
    const isBulk = (req.url ?? '').includes('_bulk');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = () => {
        if (res.destroyed) return;
        if (isBulk && Math.random() < (mode.rejectShare ?? 0)) {
          proxy.counts.rejected++;
          res.writeHead(429, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: { type: 'es_rejected_execution_exception', reason: 'injected' },
              status: 429,
            }),
          );
          return;
        }
        const headers = { ...req.headers, host: upstream.host };
        delete headers['accept-encoding'];
        const up = http.request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
          (upRes) => {
            const body: Buffer[] = [];
            upRes.on('data', (c: Buffer) => body.push(c));
            upRes.on('end', () => {
              let out = Buffer.concat(body);
              const share = mode.itemShare ?? 0;
              if (isBulk && share > 0 && upRes.statusCode === 200) {
                const parsed = JSON.parse(out.toString('utf8')) as {
                  errors: boolean;
                  items: Record<string, Record<string, unknown>>[];
                };
                for (const item of parsed.items) {
                  const r = Object.values(item)[0];
                  if (r && Math.random() < share) {
                    r.status = 429;
                    r.error = { type: 'es_rejected_execution_exception', reason: 'injected' };
                    parsed.errors = true;
                    proxy.counts.itemsRewritten++;
                  }
                }
                out = Buffer.from(JSON.stringify(parsed));
              }
              const h = { ...upRes.headers, 'content-length': String(out.length) };
              delete h['transfer-encoding'];
              const answer = () => {
                if (res.destroyed) return;
                res.writeHead(upRes.statusCode ?? 502, h);
                res.end(out);
              };
              if (mode.answerDelayMs) setTimeout(answer, mode.answerDelayMs);
              else answer();
            });
          },
        );
        up.on('error', () => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
        up.end(Buffer.concat(chunks));
      };
      if (mode.latencyMs) setTimeout(forward, mode.latencyMs);
      else forward();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
