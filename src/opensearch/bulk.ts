// `_bulk` request bodies: one `create` action per document with a deterministic `_id`, so a resend
// is a harmless 409, and `routing` by organization so one tenant's events share a shard. Bodies are
// gzipped here, not by the client, so the worker controls the cost and can measure the bytes.
import { gzipSync } from 'node:zlib';
import type { Client } from '@opensearch-project/opensearch';

export interface BulkDoc {
  index: string;
  id: string;
  routing?: string;
  source: Record<string, unknown>;
}

export function ndjson(docs: readonly BulkDoc[]): string {
  let out = '';
  for (const d of docs) {
    const action =
      d.routing === undefined
        ? { _index: d.index, _id: d.id }
        : { _index: d.index, _id: d.id, routing: d.routing };
    out += `${JSON.stringify({ create: action })}\n${JSON.stringify(d.source)}\n`;
  }
  return out;
}

export function gzipBody(body: string): Buffer {
  return gzipSync(body, { level: 6 });
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

/** Posts a gzipped NDJSON body to `_bulk` and flattens the per-item answers. */
export async function postBulk(
  client: Client,
  gz: Buffer,
  opts: { refresh?: boolean } = {},
): Promise<BulkAnswer> {
  const res = await client.bulk(
    { body: gz as never, ...(opts.refresh && { refresh: 'true' as const }) },
    { headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' } },
  );
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
