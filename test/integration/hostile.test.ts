// Hostile input never hurts the host: a corpus of nasty requests over real sockets into the real
// node: invalid JSON, a 100 MB body, binary, invalid UTF-8, JSON nested 10,000 deep, 1 MB headers,
// __proto__ keys, NUL bytes; every one is stored, valid and capped, none dead-lettered or dropped.
// The property-based half (arbitrary requests, no node) is test/unit/adapters/hono-hostile.test.ts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import { echoApp } from '../support/echo-app.js';
import { expectExactAccounting, faultAudit, finish } from '../support/faults.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

describe('hostile input', () => {
  it('a corpus of nasty requests over real sockets is stored valid and capped, nothing dropped', async () => {
    const prefix = uniquePrefix('hostile');
    const { audit, registry } = await faultAudit(prefix, testUrl(), { maxBodySize: 4096 });
    const app = echoApp(audit);
    const server = serve({
      fetch: app.fetch,
      hostname: '127.0.0.1',
      port: 0,
      serverOptions: { maxHeaderSize: 4 * 1024 * 1024 },
    });
    if (!server.listening) await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;

    function send(
      n: string,
      path: string,
      headers: http.OutgoingHttpHeaders,
      body?: Buffer | (() => AsyncGenerator<Buffer>),
    ) {
      return new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path,
            method: body ? 'POST' : 'GET',
            headers: { ...headers, 'x-request-id': `${prefix}-${n}` },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        if (typeof body === 'function') {
          (async () => {
            for await (const chunk of body())
              if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
            req.end();
          })().catch(reject);
        } else req.end(body);
      });
    }

    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const rssBefore = process.memoryUsage().rss;
    const statuses = {
      invalidJson: await send(
        'invalid-json',
        '/json',
        { 'content-type': 'application/json' },
        Buffer.from('{"a": [1, 2,'),
      ),
      huge: await send(
        'huge',
        '/ignore',
        { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        async function* () {
          const chunk = Buffer.alloc(1024 * 1024, 0x61);
          for (let i = 0; i < 100; i++) yield chunk;
        },
      ),
      binary: await send(
        'binary',
        '/bytes',
        { 'content-type': 'application/octet-stream' },
        Buffer.from([0, 1, 2, 255, 254, 0]),
      ),
      badUtf8Path: await send('bad-utf8-path', '/items/%ff%fe%fd?x=%ff', {}),
      badUtf8Body: await send(
        'bad-utf8-body',
        '/text',
        { 'content-type': 'text/plain' },
        Buffer.from([0x68, 0xff, 0xfe, 0x69]),
      ),
      deepJson: await send('deep', '/json', { 'content-type': 'application/json' }, Buffer.from(deep)),
      hugeHeaders: await send('big-headers', '/items/1', {
        'user-agent': 'u'.repeat(1024 * 1024),
        'x-actor-id': 'a'.repeat(100_000),
      }),
      proto: await send(
        'proto',
        '/json',
        { 'content-type': 'application/json' },
        Buffer.from('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"ok":1}'),
      ),
      nul: await send(
        'nul',
        '/json',
        { 'content-type': 'application/json' },
        Buffer.from('{"s":"a\\u0000b","k\\u0000":1}'),
      ),
    };
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    await new Promise<void>((r) => server.close(() => r()));
    const { final } = await finish({ close: async () => undefined }, audit, registry);

    expect(statuses).toEqual({
      invalidJson: 400,
      huge: 204,
      binary: 200,
      badUtf8Path: 200,
      badUtf8Body: 200,
      // The app's own c.json() cannot serialise 10,000 levels and answers its 400; audited or not.
      deepJson: 400,
      hugeHeaders: 200,
      proto: 200,
      nul: 200,
    });
    // The 100 MB body was never held: the process grew by far less than the body.
    expect(rssGrowth).toBeLessThan(60 * 1024 * 1024);
    expectExactAccounting(final);
    expect(final.captured).toBe(9);
    expect(final.indexed).toBe(9);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const client = testClient();
    await client.indices.refresh({ index: `${prefix}-*` });
    const res = await client.search({ index: `${prefix}-*`, body: { size: 20 } as never });
    const byId = new Map(
      res.body.hits.hits.map((h) => {
        const s = h._source as Record<string, unknown>;
        return [String(s.request_id).slice(prefix.length + 1), s];
      }),
    );
    expect(byId.get('invalid-json')?.request_body).toMatchObject({ _note: 'invalid JSON' });
    // Nobody read the 100 MB body (an unmatched route): the audit does not read it either (the
    // response must not wait for it), so only a note is stored.
    expect(byId.get('huge')?.request_body).toEqual({ _note: 'body not read by the handler' });
    expect(byId.get('binary')?.request_body).toEqual({ _note: 'application/octet-stream body not captured' });
    expect(byId.get('bad-utf8-body')?.request_body).toBe('h\ufffd\ufffdi');
    // Depending on what the handler left in Hono's cache: cut at depth, noted, or capped as text.
    const deepStored = JSON.stringify(byId.get('deep')?.request_body);
    expect(deepStored).toMatch(/too deep|could not be encoded|truncated JSON/);
    expect(deepStored.length).toBeLessThan(2 * 4096 + 500);
    expect(String(byId.get('big-headers')?.user_agent).length).toBe(512);
    expect(String(byId.get('big-headers')?.actor_id).length).toBe(256);
    // Renamed so that the stored document stays readable by clients that refuse prototype keys.
    expect(Object.keys(byId.get('proto')?.request_body as object).sort()).toEqual([
      '[__proto__]',
      '[constructor]',
      'ok',
    ]);
    expect(byId.get('nul')?.request_body).toEqual({ s: 'a\u0000b', 'k\u0000': 1 });
    expect(byId.get('bad-utf8-path')?.request_path).toBeTypeOf('string');
  });
});
