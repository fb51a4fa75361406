// `_bulk` request bodies: one `create` action per document with a deterministic `_id`, so a resend
// is a harmless 409, and `routing` by organization so one tenant's events share a shard. Bodies are
// gzipped here, not by the client, so the worker controls the cost and can measure the bytes.
import { gzipSync } from 'node:zlib';
import type { Client } from '@opensearch-project/opensearch';

export interface BulkDoc {
  index: string;
  id: string;
  routing?: string | undefined;
  source: Record<string, unknown>;
  /** JSON.stringify(source) when the caller has it already. */
  json?: string | undefined;
}

export function ndjson(docs: readonly BulkDoc[]): string {
  let out = '';
  let index: string | undefined;
  let head = '';
  for (const d of docs) {
    // The action line as a template: the index repeats across a batch, so it is escaped once.
    if (d.index !== index) {
      index = d.index;
      head = `{"create":{"_index":${JSON.stringify(index)},"_id":`;
    }
    const routing = d.routing === undefined ? '' : `,"routing":${JSON.stringify(d.routing)}`;
    out += `${head}${JSON.stringify(d.id)}${routing}}}\n${d.json ?? JSON.stringify(d.source)}\n`;
  }
  return out;
}

/**
 * gzip level of `_bulk` bodies, chosen by measurement (bench/pipeline.ts, batches of 500 events of
 * the bench mix, per event): level 6 (zlib's default) 7.2 µs and 86 bytes, level 3 3.3 µs and
 * 94 bytes, level 1 3.0 µs and 106 bytes. Level 3 keeps most of the compression for less than half
 * the CPU; OpenSearch accepts and inflates any level.
 */
export const GZIP_LEVEL = 3;

export function gzipBody(body: string): Buffer {
  return gzipSync(body, { level: GZIP_LEVEL });
}

export interface BulkItemResult {
  status: number;
  id: string;
  index: string;
  error?: { type: string; reason?: string };
}

export interface BulkAnswer {
  took: number;
  errors: boolean;
  items: BulkItemResult[];
}

/**
 * How long the server may wait for an unassigned primary (a node just died) before answering that
 * item 503: half the client's request timeout. Left at its default (1 minute) the server would
 * outwait a 30 s client, which then marks a healthy node dead and sends the whole bulk again
 * elsewhere; this way the server answers first and the retry is per item.
 */
export function serverTimeout(requestTimeoutMs: number): string {
  return `${Math.max(1000, Math.floor(requestTimeoutMs / 2))}ms`;
}

/**
 * Posts a gzipped NDJSON body to `_bulk` and flattens the per-item answers. An aborted `signal`
 * abandons the request (it rejects; OpenSearch may still apply it, which a resend meets as 409s).
 */
export async function postBulk(
  client: Client,
  gz: Buffer,
  opts: { refresh?: boolean; requestTimeoutMs?: number; signal?: AbortSignal } = {},
): Promise<BulkAnswer> {
  const request = client.bulk(
    {
      body: gz as never,
      ...(opts.refresh && { refresh: 'true' as const }),
      ...(opts.requestTimeoutMs !== undefined && { timeout: serverTimeout(opts.requestTimeoutMs) }),
    },
    { headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' } },
  );
  const abandon = () => request.abort();
  opts.signal?.addEventListener('abort', abandon, { once: true });
  let res: Awaited<typeof request>;
  try {
    res = await request;
  } finally {
    opts.signal?.removeEventListener('abort', abandon);
  }
  const body = res.body as unknown as {
    took: number;
    errors: boolean;
    items: Array<
      Record<string, { status: number; _id: string; _index: string; error?: BulkItemResult['error'] }>
    >;
  };
  return {
    took: body.took,
    errors: body.errors,
    items: body.items.map((item) => {
      const [r] = Object.values(item);
      if (!r) throw new Error('empty bulk item');
      return { status: r.status, id: r._id, index: r._index, ...(r.error && { error: r.error }) };
    }),
  };
}
