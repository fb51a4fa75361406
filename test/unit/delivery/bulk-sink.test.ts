import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type Client, errors } from '@opensearch-project/opensearch';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditOptions } from '../../../src/config/options.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import { Breaker, BreakerState, createBreakerBuffer } from '../../../src/delivery/breaker.js';
import { BulkSink, type Log } from '../../../src/delivery/bulk-sink.js';
import { createStatsBuffer, Stat, WRITE_LATENCY_BUCKETS } from '../../../src/layout.js';
import { readRow, StatRow } from '../../../src/metrics/stat-row.js';
import { eventMappings, indexTemplate } from '../../../src/opensearch/template.js';
import type { AuditDocument } from '../../../src/worker/document.js';

const NOW = new Date('2026-11-27T10:00:00.000Z');
const INDEX = 'audit-api-2026-11-27';

function doc(n: number, index = INDEX): AuditDocument {
  return {
    index,
    id: `0190f6c2-0000-7abc-8def-${String(n).padStart(12, '0')}`,
    routing: n % 2 === 0 ? `org-${n}` : undefined,
    source: { seq: n, request_path: `/policies/${n}`, action: 'policies.read' },
  };
}

const docs = (count: number, index = INDEX) => Array.from({ length: count }, (_, i) => doc(i, index));

/** One action and its document, as OpenSearch reads them from the body. */
interface Sent {
  action: { create: { _index: string; _id: string; routing?: string } };
  source: Record<string, unknown>;
}

/** What a scripted `_bulk` call answers per document: a status, with an error for a refusal. */
type ItemAnswer = number | { status: number; type: string; reason?: string };
/** A scripted `_bulk` call: per-item answers, or an error the client throws for the whole request. */
type Script = ItemAnswer[] | Error | ((sent: Sent[]) => ItemAnswer[]);

/**
 * A client with what BulkSink uses: `bulk()` (postBulk) answering from a script, and
 * `transport.request()` (ensureTemplate's GET and PUT of the index template) answering from a
 * small template store. Records every call.
 */
function scriptedClient(
  scripts: Script[],
  opts: { templateInstalled?: boolean; templateError?: Error; existingIndices?: string[] } = {},
) {
  const bulks: Array<{ sent: Sent[]; headers: Record<string, string> }> = [];
  const transport: Array<{ method: string; path: string; body?: unknown }> = [];
  let installed = opts.templateInstalled ?? false;
  const createdIndices = new Set<string>(opts.existingIndices ?? []);
  const client = {
    async bulk(params: { body: Buffer }, options: { headers: Record<string, string> }) {
      const lines = gunzipSync(params.body).toString('utf8').split('\n');
      expect(lines.at(-1)).toBe('');
      const sent: Sent[] = [];
      for (let i = 0; i + 1 < lines.length; i += 2) {
        sent.push({ action: JSON.parse(lines[i] as string), source: JSON.parse(lines[i + 1] as string) });
      }
      bulks.push({ sent, headers: options.headers });
      const script = scripts.shift();
      if (script === undefined) throw new Error(`unscripted bulk call ${bulks.length}`);
      if (script instanceof Error) throw script;
      const answers = typeof script === 'function' ? script(sent) : script;
      expect(answers).toHaveLength(sent.length);
      const items = sent.map(({ action }, i) => {
        const a = answers[i] as ItemAnswer;
        const status = typeof a === 'number' ? a : a.status;
        const error = typeof a === 'number' ? undefined : { type: a.type, reason: a.reason };
        return {
          create: { _index: action.create._index, _id: action.create._id, status, ...(error && { error }) },
        };
      });
      return { body: { took: 3, errors: items.some((i) => i.create.status >= 300), items } };
    },
    transport: {
      async request(params: { method: string; path: string; body?: unknown }) {
        transport.push({
          method: params.method,
          path: params.path,
          ...(params.body !== undefined ? { body: params.body } : {}),
        });
        if (opts.templateError) throw opts.templateError;
        if (!params.path.startsWith('/_index_template/')) {
          // PUT /<index> with the audit mapping: created once, then 'already exists'.
          if (createdIndices.has(params.path))
            throw Object.assign(new Error('Response Error'), {
              meta: { statusCode: 400, body: { error: { type: 'resource_already_exists_exception' } } },
            });
          createdIndices.add(params.path);
          return { statusCode: 200, body: { acknowledged: true } };
        }
        if (params.method === 'GET') {
          if (installed)
            return {
              statusCode: 200,
              body: { index_templates: [{ name: 'audit-template', index_template: {} }] },
            };
          // As the real client does: an HTTP error answer is thrown, with the answer in `meta`.
          throw Object.assign(new Error('Response Error'), {
            meta: { statusCode: 404, body: { error: 'index template matching [audit-template] not found' } },
          });
        }
        installed = true;
        return { statusCode: 200, body: { acknowledged: true } };
      },
    },
  };
  return { client: client as unknown as Client, bulks, transport, left: scripts };
}

let spoolDir: string;

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  spoolDir = await mkdtemp(join(tmpdir(), 'audit-bulk-sink-'));
});

afterEach(async () => {
  vi.useRealTimers();
  await rm(spoolDir, { recursive: true, force: true });
});

/** A sink over a scripted client, a real stats row and a real breaker. */
function makeSink(scripts: Script[], options: AuditOptions = {}, clientOpts = {}) {
  const cfg = resolveConfig(
    { spoolDir, retryAttempts: 2, retryBackoffSeconds: 0.001, breakerFailures: 5, ...options },
    {},
  );
  const statsBuffer = createStatsBuffer(1);
  const breaker = new Breaker(
    createBreakerBuffer(),
    Date.now(),
    cfg.breakerFailures,
    cfg.breakerCooldownSeconds * 1000,
  );
  const log = vi.fn<Log>();
  const fake = scriptedClient(scripts, clientOpts);
  const sink = new BulkSink(fake.client, cfg, new StatRow(statsBuffer, 0), log, breaker);
  const stat = (slot: number) => readRow(statsBuffer, 0)[slot];
  return { ...fake, sink, cfg, breaker, log, stat, statsBuffer };
}

const ids = (list: Array<{ id: string }>) => list.map((d) => d.id);
const sentIds = (sent: Sent[]) => sent.map((s) => s.action.create._id);

/** Every line of the dead-letter directory's files. */
async function deadLetterLines(): Promise<Array<{ file: string; entry: Record<string, unknown> }>> {
  const dir = join(spoolDir, 'dead-letter');
  const out: Array<{ file: string; entry: Record<string, unknown> }> = [];
  for (const file of (await readdir(dir).catch(() => [] as string[])).sort()) {
    for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
      if (line !== '') out.push({ file, entry: JSON.parse(line) });
    }
  }
  return out;
}

describe('BulkSink: what is sent', () => {
  it('sends one gzipped create action per document, with its _index, _id and routing, then the document', async () => {
    const s = makeSink([[201, 201, 201]], { installTemplate: false });
    const batch = docs(3);
    await s.sink.deliver(batch);
    expect(s.bulks).toHaveLength(1);
    const [call] = s.bulks as [(typeof s.bulks)[number]];
    expect(call.headers).toEqual({ 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
    expect(call.sent).toEqual(
      batch.map((d) => ({
        action: {
          create: { _index: d.index, _id: d.id, ...(d.routing !== undefined && { routing: d.routing }) },
        },
        source: d.source,
      })),
    );
    expect(call.sent[0]?.action.create.routing).toBe('org-0');
    expect(call.sent[1]?.action.create).not.toHaveProperty('routing');
  });
});

describe('BulkSink: per-item answers', () => {
  it('counts 201, 200 and 409 (already indexed: the ids are deterministic) as indexed', async () => {
    const s = makeSink([[201, 409, 200]], { installTemplate: false });
    const result = await s.sink.deliver(docs(3));
    expect(result).toEqual({ indexed: 3, deadLettered: 0, deadLetterLost: 0, failed: [] });
    expect(s.bulks).toHaveLength(1);
    expect(await deadLetterLines()).toEqual([]);
    expect([s.stat(Stat.BULK_OK), s.stat(Stat.BULK_FAILED), s.stat(Stat.RETRIES)]).toEqual([1, 0, 0]);
  });

  it('with retries: 0 (spool replay) sends once and returns what failed, without waiting', async () => {
    const s = makeSink([[201, 429, 500, 201]], { installTemplate: false });
    const batch = docs(4);
    const result = await s.sink.deliver(batch, { retries: 0 });
    expect(s.bulks).toHaveLength(1);
    expect(result.failed).toEqual([batch[1], batch[2]]);
    expect(result.indexed).toBe(2);
    expect(s.stat(Stat.RETRIES)).toBe(0);
  });

  it('retries only the 429 and 500 items, then counts them indexed', async () => {
    const s = makeSink(
      [
        [201, 429, 500, 201],
        [201, 201],
      ],
      { installTemplate: false },
    );
    const batch = docs(4);
    const result = await s.sink.deliver(batch);
    expect(s.bulks).toHaveLength(2);
    expect(sentIds(s.bulks[1]?.sent ?? [])).toEqual(ids([batch[1], batch[2]] as AuditDocument[]));
    // lastError is the last error seen, kept even though the retry went through.
    expect(result).toEqual({
      indexed: 4,
      deadLettered: 0,
      deadLetterLost: 0,
      failed: [],
      lastError: '2 items answered 429',
    });
    expect([s.stat(Stat.BULK_OK), s.stat(Stat.BULK_FAILED), s.stat(Stat.RETRIES)]).toEqual([2, 0, 1]);
    expect(s.breaker.state).toBe(BreakerState.CLOSED);
  });

  it('retries transient refusals (rejected execution, write blocks) whatever their status', async () => {
    const s = makeSink(
      [
        [
          {
            status: 403,
            type: 'cluster_block_exception',
            reason: 'index [audit] blocked by: [FORBIDDEN/8/index write (api)]',
          },
          { status: 400, type: 'es_rejected_execution_exception' },
          { status: 400, type: 'index_closed_exception' },
        ],
        [201, 201, 201],
      ],
      { installTemplate: false },
    );
    expect(await s.sink.deliver(docs(3))).toMatchObject({
      indexed: 3,
      deadLettered: 0,
      deadLetterLost: 0,
      failed: [],
    });
    expect(s.bulks).toHaveLength(2);
    expect(await deadLetterLines()).toEqual([]);
  });

  it('returns items still retriable when the attempts run out as failed, after retryAttempts retries', async () => {
    const s = makeSink([[201, 503], [503], [503]], { installTemplate: false });
    const batch = docs(2);
    const result = await s.sink.deliver(batch);
    expect(s.bulks.map((b) => sentIds(b.sent))).toEqual([ids(batch), [batch[1]?.id], [batch[1]?.id]]);
    expect(result).toEqual({
      indexed: 1,
      deadLettered: 0,
      deadLetterLost: 0,
      failed: [batch[1]],
      lastError: '1 items answered 503',
    });
    expect([s.stat(Stat.BULK_OK), s.stat(Stat.RETRIES)]).toEqual([3, 2]);
  });

  it('counts a refused item as lost, not dead-lettered, when the dead-letter file cannot be written', async () => {
    // A file where the folder should be: mkdir fails (ENOTDIR) as on a full or read-only disk.
    await writeFile(join(spoolDir, 'dead-letter'), '');
    const s = makeSink([[201, { status: 400, type: 'mapper_parsing_exception', reason: 'x' }]], {
      installTemplate: false,
    });
    const batch = docs(2);
    const result = await s.sink.deliver(batch);
    // The refused document is named, so its chain position is listed as voided.
    expect(result).toEqual({
      indexed: 1,
      deadLettered: 0,
      deadLetterLost: 1,
      refused: [batch[1]],
      failed: [],
    });
    expect(s.bulks).toHaveLength(1);
    expect(s.log).toHaveBeenCalledWith(
      'error',
      'Dead-letter write failed: events dropped',
      expect.objectContaining({ count: 1 }),
    );
  });

  it('dead-letters a 400 item with its answer and document, and never retries it', async () => {
    const reason = "failed to parse field [response_status_code] of type [short] in document with id 'x'";
    const s = makeSink([[201, { status: 400, type: 'mapper_parsing_exception', reason }, 409]], {
      installTemplate: false,
    });
    const batch = docs(3);
    const result = await s.sink.deliver(batch);
    expect(result).toEqual({
      indexed: 2,
      deadLettered: 1,
      deadLetterLost: 0,
      refused: [batch[1]],
      failed: [],
    });
    expect(s.bulks).toHaveLength(1);
    expect(s.stat(Stat.RETRIES)).toBe(0);
    const dead = batch[1] as AuditDocument;
    expect(await deadLetterLines()).toEqual([
      {
        file: '2026-11-27.ndjson',
        entry: {
          at: NOW.toISOString(),
          status: 400,
          error: 'mapper_parsing_exception',
          reason,
          index: dead.index,
          id: dead.id,
          document: dead.source,
        },
      },
    ]);
    expect(s.log).toHaveBeenCalledWith('warn', 'Events dead-lettered', { count: 1, status: 400 });
  });

  it('keeps the routing of a dead-lettered document', async () => {
    const s = makeSink([[{ status: 400, type: 'mapper_parsing_exception' }]], { installTemplate: false });
    const routed = doc(2);
    await s.sink.deliver([routed]);
    const [line] = await deadLetterLines();
    expect(line?.entry).toMatchObject({ id: routed.id, routing: 'org-2', status: 400 });
  });

  it('dead-letters, retries and indexes the items of one answer each their own way', async () => {
    const s = makeSink(
      [
        [201, 429, { status: 400, type: 'strict_dynamic_mapping_exception' }, 500],
        [201, { status: 404, type: 'index_not_found_exception' }],
      ],
      { installTemplate: false },
    );
    const batch = docs(4);
    const result = await s.sink.deliver(batch);
    expect(result).toMatchObject({ indexed: 2, deadLettered: 2, deadLetterLost: 0, failed: [] });
    expect((await deadLetterLines()).map((l) => [l.entry.id, l.entry.status, l.entry.error])).toEqual([
      [batch[2]?.id, 400, 'strict_dynamic_mapping_exception'],
      [batch[3]?.id, 404, 'index_not_found_exception'],
    ]);
  });
});

describe('BulkSink: failed requests', () => {
  it('retries a request that failed as a whole with the whole batch', async () => {
    const s = makeSink([new Error('socket hang up'), [201, 201, 201]], { installTemplate: false });
    const batch = docs(3);
    const result = await s.sink.deliver(batch);
    expect(s.bulks.map((b) => sentIds(b.sent))).toEqual([ids(batch), ids(batch)]);
    expect(result).toEqual({
      indexed: 3,
      deadLettered: 0,
      deadLetterLost: 0,
      failed: [],
      lastError:
        'the server closed the connection without an answer (socket hang up); if it speaks https, use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)',
    });
    expect([s.stat(Stat.BULK_OK), s.stat(Stat.BULK_FAILED), s.stat(Stat.RETRIES)]).toEqual([1, 1, 1]);
    expect(s.breaker.state).toBe(BreakerState.CLOSED);
  });

  it('returns every document as failed when the attempts run out, with the last error', async () => {
    const s = makeSink(
      [new Error('connect ECONNREFUSED'), new Error('connect ECONNREFUSED'), new Error('timeout')],
      { installTemplate: false },
    );
    const batch = docs(3);
    const result = await s.sink.deliver(batch);
    expect(s.bulks).toHaveLength(3);
    expect(result).toEqual({
      indexed: 0,
      deadLettered: 0,
      deadLetterLost: 0,
      failed: batch,
      lastError: 'OpenSearch request failed: timeout',
    });
    expect([s.stat(Stat.BULK_OK), s.stat(Stat.BULK_FAILED), s.stat(Stat.RETRIES)]).toEqual([0, 3, 2]);
    // Only answered requests are timed.
    expect(s.stat(Stat.WRITE_LATENCY_COUNT)).toBe(0);
    // 3 failures stay below breakerFailures (5).
    expect(s.breaker.state).toBe(BreakerState.CLOSED);
  });

  it('opens the breaker after breakerFailures failed requests and stops retrying', async () => {
    const s = makeSink([new Error('down'), new Error('down'), new Error('down')], {
      installTemplate: false,
      breakerFailures: 2,
      retryAttempts: 5,
    });
    const batch = docs(2);
    const result = await s.sink.deliver(batch);
    expect(s.bulks).toHaveLength(2);
    expect(result).toEqual({
      indexed: 0,
      deadLettered: 0,
      deadLetterLost: 0,
      failed: batch,
      lastError: 'OpenSearch request failed: down',
    });
    expect(s.breaker.state).toBe(BreakerState.OPEN);
    expect(s.log).toHaveBeenCalledWith('warn', 'Circuit breaker open: events are being spooled', {
      error: 'OpenSearch request failed: down',
      cause: 'ERROR',
      spoolDir,
    });
    expect(s.stat(Stat.RETRIES)).toBe(1);
  });
});

describe('BulkSink: the circuit breaker', () => {
  it('sends nothing while the breaker is open and returns every document as failed', async () => {
    const s = makeSink([], { breakerFailures: 1 });
    s.breaker.failure();
    expect(s.breaker.state).toBe(BreakerState.OPEN);
    const batch = docs(3);
    const result = await s.sink.deliver(batch);
    expect(result).toEqual({
      indexed: 0,
      deadLettered: 0,
      deadLetterLost: 0,
      failed: batch,
      lastError: 'circuit breaker open',
    });
    expect(s.bulks).toEqual([]);
    expect(s.transport).toEqual([]);
    expect(readRow(s.statsBuffer, 0).every((v) => v === 0)).toBe(true);
  });

  it('counts an answer whose every item must be retried as a breaker failure: sustained, it opens', async () => {
    const s = makeSink(
      [
        [429, 429],
        [429, 429],
        [429, 429],
      ],
      {
        installTemplate: false,
        breakerFailures: 2,
        retryAttempts: 5,
      },
    );
    const batch = docs(2);
    const result = await s.sink.deliver(batch);
    expect(s.bulks).toHaveLength(2);
    expect(result).toEqual({
      indexed: 0,
      deadLettered: 0,
      deadLetterLost: 0,
      failed: batch,
      lastError: '2 items answered 429',
    });
    expect(s.breaker.state).toBe(BreakerState.OPEN);
    expect(s.log).toHaveBeenCalledWith('warn', 'Circuit breaker open: events are being spooled', {
      error: 'OpenSearch refused every event of the bulk request with 429',
      cause: 'ITEMS_429',
      spoolDir,
    });
    // The requests themselves were answered.
    expect([s.stat(Stat.BULK_OK), s.stat(Stat.BULK_FAILED)]).toEqual([2, 0]);
  });

  it('counts an answer with some items through as a success, which resets the failure count', async () => {
    const s = makeSink([new Error('down'), [201, 429], [201]], {
      installTemplate: false,
      breakerFailures: 2,
    });
    const result = await s.sink.deliver(docs(2));
    expect(result).toMatchObject({ indexed: 2, failed: [] });
    // One more failure now would be the first of a new run, not the second.
    expect(s.breaker.failure()).toBeUndefined();
    expect(s.breaker.state).toBe(BreakerState.CLOSED);
  });

  it('closes a half-open breaker when its probe succeeds, and says so', async () => {
    const s = makeSink([[201]], { installTemplate: false, breakerFailures: 1, breakerCooldownSeconds: 1 });
    s.breaker.failure();
    vi.setSystemTime(NOW.getTime() + 1000);
    expect(await s.sink.deliver(docs(1))).toEqual({
      indexed: 1,
      deadLettered: 0,
      deadLetterLost: 0,
      failed: [],
    });
    expect(s.breaker.state).toBe(BreakerState.CLOSED);
    expect(s.log).toHaveBeenCalledWith('info', 'Circuit breaker closed');
  });
});

describe('BulkSink: logging a cause once', () => {
  const node = { host: '127.0.0.1', port: 9250, username: 'audit_writer', password: 'pw' };
  // As the client makes them: a socket error's message only, and the HTTP answer as meta.
  const refused = () => new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9250');
  const unauthorized = () =>
    new errors.ResponseError({ statusCode: 401, body: 'Unauthorized', headers: {}, meta: {} } as never);
  const failures = (log: ReturnType<typeof vi.fn<Log>>) =>
    log.mock.calls.filter((c) => c[1] === 'OpenSearch request failed').map((c) => c[2]?.error);
  const openings = (log: ReturnType<typeof vi.fn<Log>>) =>
    log.mock.calls.filter((c) => c[1] === 'Circuit breaker open: events are being spooled').length;

  it('logs a cause once for 20 failing batches, not per batch', async () => {
    const s = makeSink(Array.from({ length: 20 }, refused), {
      opensearch: node,
      installTemplate: false,
      retryAttempts: 0,
      breakerFailures: 100,
    });
    for (let i = 0; i < 20; i++) expect(await s.sink.deliver(docs(2))).toMatchObject({ indexed: 0 });
    expect(s.bulks).toHaveLength(20);
    expect(failures(s.log)).toEqual(['cannot connect to 127.0.0.1:9250 (ECONNREFUSED)']);
  });

  it('logs a new cause, and says the breaker opened once however often its probe fails', async () => {
    const s = makeSink([refused(), refused(), unauthorized(), unauthorized(), unauthorized()], {
      opensearch: node,
      installTemplate: false,
      retryAttempts: 0,
      breakerFailures: 2,
      breakerCooldownSeconds: 1,
    });
    await s.sink.deliver(docs(1));
    await s.sink.deliver(docs(1));
    expect(s.breaker.state).toBe(BreakerState.OPEN);
    for (let probe = 1; probe <= 3; probe++) {
      vi.setSystemTime(NOW.getTime() + probe * 1000);
      await s.sink.deliver(docs(1));
      expect(s.breaker.state).toBe(BreakerState.OPEN);
    }
    expect(s.bulks).toHaveLength(5);
    expect(failures(s.log)).toEqual([
      'cannot connect to 127.0.0.1:9250 (ECONNREFUSED)',
      'OpenSearch refused the credentials of user audit_writer (401)',
    ]);
    expect(openings(s.log)).toBe(1);
  });

  it('logs the same cause again once the breaker closed in between', async () => {
    const s = makeSink([refused(), [201], refused()], {
      opensearch: node,
      installTemplate: false,
      retryAttempts: 0,
      breakerFailures: 1,
      breakerCooldownSeconds: 1,
    });
    await s.sink.deliver(docs(1));
    vi.setSystemTime(NOW.getTime() + 1000);
    await s.sink.deliver(docs(1));
    expect(s.log).toHaveBeenCalledWith('info', 'Circuit breaker closed');
    await s.sink.deliver(docs(1));
    expect(failures(s.log)).toEqual([
      'cannot connect to 127.0.0.1:9250 (ECONNREFUSED)',
      'cannot connect to 127.0.0.1:9250 (ECONNREFUSED)',
    ]);
    expect(openings(s.log)).toBe(2);
  });

  it('forgets the cause when another worker closed the breaker', async () => {
    const s = makeSink([refused(), refused()], {
      opensearch: node,
      installTemplate: false,
      retryAttempts: 0,
      breakerFailures: 1,
    });
    await s.sink.deliver(docs(1));
    // This sink sees the breaker open (and sends nothing), then another worker's probe closes it.
    await s.sink.deliver(docs(1));
    s.breaker.success();
    await s.sink.deliver(docs(1));
    expect(failures(s.log)).toHaveLength(2);
  });
});

describe('BulkSink: stats', () => {
  it('times each answered request into the write-latency slots', async () => {
    const s = makeSink([[201, 500], [201]], { installTemplate: false });
    await s.sink.deliver(docs(2));
    const row = readRow(s.statsBuffer, 0);
    expect(row[Stat.WRITE_LATENCY_COUNT]).toBe(2);
    const buckets = row.slice(
      Stat.WRITE_LATENCY_BUCKETS,
      Stat.WRITE_LATENCY_BUCKETS + WRITE_LATENCY_BUCKETS.length,
    );
    expect(buckets.reduce((a, b) => a + b, 0)).toBe(2);
    expect(row[Stat.WRITE_LATENCY_SUM_MICROS]).toBeGreaterThanOrEqual(0);
    // The sink counts requests, not events: the event slots are the worker's to write.
    expect([row[Stat.INDEXED], row[Stat.DEAD_LETTERED], row[Stat.SPOOLED]]).toEqual([0, 0, 0]);
  });
});

describe('BulkSink: the index template', () => {
  const templatePath = '/_index_template/audit-template';

  it('installs a missing template (GET, then PUT) and creates the index with the audit mapping, once', async () => {
    const s = makeSink([[201, 201], [201]], { indexShards: 2, indexReplicas: 0 });
    await s.sink.deliver(docs(2));
    expect(s.transport).toEqual([
      { method: 'GET', path: templatePath },
      { method: 'PUT', path: templatePath, body: indexTemplate({ prefix: 'audit', shards: 2, replicas: 0 }) },
      { method: 'PUT', path: '/audit-api-2026-11-27', body: { mappings: eventMappings } },
    ]);
    expect(s.log).toHaveBeenCalledWith('info', 'Index template installed', { template: 'audit-template' });
    expect(s.log).toHaveBeenCalledWith('info', 'Audit index created', { index: 'audit-api-2026-11-27' });
    await s.sink.deliver(docs(1));
    expect(s.transport).toHaveLength(3);
    expect(s.bulks).toHaveLength(2);
  });

  it('checks again for an index it has not written to, and leaves a present template and index alone', async () => {
    const s = makeSink(
      [[201], [201, 201]],
      {},
      { templateInstalled: true, existingIndices: ['/audit-api-2026-11-27'] },
    );
    await s.sink.deliver(docs(1));
    // A present index gets the chain's fields added (an index from before the chain lacks them).
    expect(s.transport.map((t) => `${t.method} ${t.path}`)).toEqual([
      `GET ${templatePath}`,
      'PUT /audit-api-2026-11-27',
      'PUT /audit-api-2026-11-27/_mapping',
    ]);
    await s.sink.deliver([doc(5), doc(6, 'audit-api-2026-11-28')]);
    expect(s.transport.map((t) => `${t.method} ${t.path}`)).toEqual([
      `GET ${templatePath}`,
      'PUT /audit-api-2026-11-27',
      'PUT /audit-api-2026-11-27/_mapping',
      `GET ${templatePath}`,
      'PUT /audit-api-2026-11-28',
    ]);
    expect(s.log).not.toHaveBeenCalledWith('info', 'Index template installed', expect.anything());
    expect(s.log).not.toHaveBeenCalledWith('info', 'Audit index created', { index: 'audit-api-2026-11-27' });
    expect(s.log).toHaveBeenCalledWith('info', 'Audit index created', { index: 'audit-api-2026-11-28' });
  });

  it('uses the configured index prefix for the template name', async () => {
    const s = makeSink([[201]], { indexPrefix: 'billing-audit' });
    await s.sink.deliver([doc(1, 'billing-audit-api-2026-11-27')]);
    expect(s.transport.map((t) => `${t.method} ${t.path}`)).toEqual([
      'GET /_index_template/billing-audit-template',
      'PUT /_index_template/billing-audit-template',
      'PUT /billing-audit-api-2026-11-27',
    ]);
  });

  it('still sends the batch when the checks fail, logs them, and checks again next time', async () => {
    const s = makeSink([[201], [201]], {}, { templateError: new Error('connect ECONNREFUSED') });
    expect(await s.sink.deliver(docs(1))).toMatchObject({ indexed: 1 });
    // Both checks failed for one cause: it is logged once, by the first.
    expect(s.log.mock.calls.filter((c) => c[1] === 'OpenSearch request failed')).toEqual([
      [
        'warn',
        'OpenSearch request failed',
        {
          error: 'cannot connect to OpenSearch (ECONNREFUSED)',
          cause: 'ECONNREFUSED',
          during: 'template check',
          template: 'audit-template',
        },
      ],
    ]);
    await s.sink.deliver(docs(1));
    expect(s.transport).toHaveLength(4);
    expect(s.bulks).toHaveLength(2);
  });

  it('skips the template when installTemplate is false, and still creates each index with the mapping', async () => {
    const s = makeSink([[201], [201]], { installTemplate: false });
    await s.sink.deliver(docs(1));
    await s.sink.deliver([doc(9, 'audit-api-2026-11-28')]);
    expect(s.transport).toEqual([
      { method: 'PUT', path: '/audit-api-2026-11-27', body: { mappings: eventMappings } },
      { method: 'PUT', path: '/audit-api-2026-11-28', body: { mappings: eventMappings } },
    ]);
    expect(s.bulks).toHaveLength(2);
  });
});
