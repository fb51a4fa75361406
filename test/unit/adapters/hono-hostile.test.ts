// Hostile input never hurts the host. Property-based (fast-check): for arbitrary requests the
// audited app answers exactly as the bare app and nothing throws; what lands in the spool is
// valid. The corpus of nasty requests into the real node is test/integration/hostile.test.ts.
import { createAudit } from '@pdaas/audit';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { readSpool } from '../../../src/spool/reader.js';
import { echoApp } from '../../support/echo-app.js';
import { expectExactAccounting, tempDir } from '../../support/faults.js';

const quiet = { info() {}, warn() {}, error() {} };

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 300,
});

describe('hostile input', () => {
  it('never changes the response and never throws, for arbitrary requests (fast-check)', async () => {
    const spoolDir = tempDir('prop');
    const audit = await createAudit({
      registry: new Registry(),
      logger: quiet,
      spoolDir,
      flushIntervalSeconds: 0.1,
    });
    const bare = echoApp();
    const audited = echoApp(audit);
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
          path: fc.oneof(
            fc.constantFrom(
              '/json',
              '/text',
              '/bytes',
              '/ignore',
              '/boom',
              '/nope',
              '/items/%ff%fe',
              '/items/%00',
            ),
            fc.string({ maxLength: 40 }).map((s) => `/items/${encodeURIComponent(s)}`),
          ),
          query: fc.array(fc.tuple(printable, fc.string({ maxLength: 50 })), { maxLength: 4 }),
          headers: fc.dictionary(
            fc.constantFrom(
              'x-organization-id',
              'x-actor-id',
              'user-agent',
              'traceparent',
              'x-request-id',
              'content-type',
            ),
            printable,
          ),
          body: fc.oneof(
            fc.constant(undefined),
            fc.jsonValue().map((v) => JSON.stringify(v)),
            fc.string({ maxLength: 500 }),
            fc.uint8Array({ maxLength: 3000 }),
          ),
        }),
        async (req) => {
          const qs = new URLSearchParams(req.query).toString();
          const url = `http://local${req.path}${qs ? `?${qs}` : ''}`;
          const init = (): RequestInit => ({
            method: req.method,
            headers: req.headers,
            ...(req.body !== undefined && req.method !== 'GET' && { body: req.body as string }),
          });
          const a = await bare.request(url, init());
          const b = await audited.request(url, init());
          requests++;
          expect(b.status).toBe(a.status);
          expect(b.headers.get('content-type')).toBe(a.headers.get('content-type'));
          expect(Buffer.from(await b.arrayBuffer())).toEqual(Buffer.from(await a.arrayBuffer()));
        },
      ),
      { numRuns: 400 },
    );
    const final = await audit.close();
    expect(final.captured).toBe(requests);
    expect(final.spooled).toBe(requests);
    expectExactAccounting(final);
    let stored = 0;
    for await (const segment of readSpool(spoolDir)) {
      expect(segment.corruptTail).toBe(false);
      for (const doc of segment.documents) {
        stored++;
        expect(typeof doc.source.request_path).toBe('string');
        expect(JSON.parse(JSON.stringify(doc.source))).toEqual(doc.source);
      }
    }
    expect(stored).toBe(requests);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
