// What OpenSearch holds under an index pattern, for the end-of-run checks of the tests and the
// load harness: documents in all and per organization, and any event_id or request_id stored twice.
import type { Client } from '@opensearch-project/opensearch';

export interface StoredEvents {
  total: number;
  perOrg: Map<string, number>;
  /** Buckets of up to 10 event_ids that appear more than once (empty when none does). */
  duplicateEventIds: unknown[];
  /** Buckets of up to 10 request_ids that appear more than once. */
  duplicateRequests: unknown[];
}

/** Refreshes `index` (a pattern) and counts the events it holds (the hash chains' checkpoints left out). */
export async function storedEvents(client: Client, index: string): Promise<StoredEvents> {
  await client.indices.refresh({ index });
  const res = await client.search({
    index: `${index},-*-checkpoints-*`,
    body: {
      size: 0,
      track_total_hits: true,
      aggs: {
        orgs: { terms: { field: 'organization_id', size: 1000 } },
        ids: { terms: { field: 'event_id', min_doc_count: 2, size: 10 } },
        requests: { terms: { field: 'request_id', min_doc_count: 2, size: 10 } },
      },
    } as never,
  });
  const body = res.body as unknown as {
    hits: { total: { value: number } };
    aggregations: {
      orgs: { buckets: Array<{ key: string; doc_count: number }> };
      ids: { buckets: unknown[] };
      requests: { buckets: unknown[] };
    };
  };
  return {
    total: body.hits.total.value,
    perOrg: new Map(body.aggregations.orgs.buckets.map((b) => [b.key, b.doc_count])),
    duplicateEventIds: body.aggregations.ids.buckets,
    duplicateRequests: body.aggregations.requests.buckets,
  };
}
