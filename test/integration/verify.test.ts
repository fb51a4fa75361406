// Tamper evidence against the real node: events go through the whole pipeline, then are tampered
// with for real through the OpenSearch API, as someone with write access to the audit indices
// could. `pdaas-audit verify` must name each kind of tampering at its position and exit 1, and
// find nothing in the organizations left alone (exit 0).
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { drive, startApp, totalSent } from '../../examples/traffic.js';
import { recomputeHash } from '../../src/chain/hash.js';
import { nodeEnv, pdaas } from '../support/cli.js';
import { expectStoredExactlyOnce, faultAudit, finish } from '../support/faults.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

const client = testClient();

interface Hit {
  _id: string;
  _index: string;
  _source: Record<string, unknown>;
}

/** One organization's stored events in chain order. */
async function chainOf(prefix: string, org: string): Promise<Hit[]> {
  await client.indices.refresh({ index: `${prefix}-*` });
  const res = await client.search({
    index: `${prefix}-*`,
    routing: org,
    body: { size: 1000, query: { term: { organization_id: org } }, sort: [{ chain_seq: 'asc' }] },
  } as never);
  return (res.body as unknown as { hits: { hits: Hit[] } }).hits.hits;
}

async function put(hit: Hit, source: Record<string, unknown>, id = hit._id): Promise<void> {
  await client.index({
    index: hit._index,
    id,
    routing: String(source.organization_id),
    body: source,
    refresh: true,
  } as never);
}

/** What an attacker without the signing key can do: recompute an entry's hash after a change. */
function rehash(source: Record<string, unknown>): Record<string, unknown> {
  return { ...source, chain_hash: recomputeHash(source) };
}

describe('verify', () => {
  it('names every kind of tampering at its position, and finds nothing where nothing was touched', async () => {
    const prefix = uniquePrefix('verify');
    const { audit, registry } = await faultAudit(prefix, testUrl(), { workers: 2 });
    const app = await startApp('hono', audit);
    const sent = await drive(app.url, 1_200, { orgs: 6, prefix, concurrency: 8 });
    await finish(app, audit, registry);
    await expectStoredExactlyOnce(prefix, totalSent(sent));
    const orgs = [...sent.keys()].sort();
    const [intact, modified, deleted, inserted, swapped, reordered] = orgs as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const verify = (org: string) => pdaas(['verify', '--org', org], nodeEnv(prefix));

    const clean = await verify(intact);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain(`${sent.get(intact)}/${sent.get(intact)} events valid`);

    // One field of one event changed.
    const m = await chainOf(prefix, modified);
    await put(m[9] as Hit, { ...(m[9] as Hit)._source, action: 'policies.delete' });
    // One event deleted.
    const d = await chainOf(prefix, deleted);
    await client.delete({
      index: (d[19] as Hit)._index,
      id: (d[19] as Hit)._id,
      routing: deleted,
      refresh: true,
    } as never);
    // A forged event, its hash recomputed, claiming a position an event holds.
    const i = await chainOf(prefix, inserted);
    const forgedId = randomUUID();
    await put(
      i[4] as Hit,
      rehash({ ...(i[4] as Hit)._source, event_id: forgedId, actor_id: 'mallory' }),
      forgedId,
    );
    // Two events' contents swapped whole (chain fields too).
    const s = await chainOf(prefix, swapped);
    await put(s[6] as Hit, (s[7] as Hit)._source);
    await put(s[7] as Hit, (s[6] as Hit)._source);
    // Two events put in each other's place, their hashes recomputed to look consistent.
    const r = await chainOf(prefix, reordered);
    const [e12, e13] = [(r[11] as Hit)._source, (r[12] as Hit)._source];
    const moved13 = rehash({ ...e13, chain_seq: 12, chain_prev: e12.chain_prev });
    const moved12 = rehash({ ...e12, chain_seq: 13, chain_prev: moved13.chain_hash });
    await put(r[12] as Hit, moved13);
    await put(r[11] as Hit, moved12);

    const expectations: Array<[string, RegExp]> = [
      [modified, /^modified: chain \S+ position 10 .*does not hash/m],
      [deleted, /^missing: chain \S+ position 20: position 20 is absent/m],
      [inserted, new RegExp(`^inserted: chain \\S+ position 5 \\(event ${forgedId}\\)`, 'm')],
      [swapped, /^modified: chain \S+ position 7 .*holds the content of event/m],
      [reordered, /^out_of_order: chain \S+ position 14 /m],
    ];
    for (const [org, line] of expectations) {
      const res = await verify(org);
      expect(res.code, `${org}: ${res.stdout}${res.stderr}`).toBe(1);
      expect(res.stdout).toMatch(line);
      expect(res.stdout).toMatch(/^\d+\/\d+ events valid$/m);
    }
    const swappedOut = (await verify(swapped)).stdout;
    expect(swappedOut).toMatch(/^modified: chain \S+ position 8 .*holds the content of event/m);

    // The organization left alone is still clean after all that, and --json says the same.
    const json = await pdaas(['verify', '--org', intact, '--json'], nodeEnv(prefix));
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      organization: intact,
      problems: [],
      valid: sent.get(intact),
    });

    // A connection failure is no verdict: exit 2.
    const down = await pdaas(['verify', '--org', intact, '--url', 'http://127.0.0.1:9'], nodeEnv(prefix));
    expect(down.code).toBe(2);
  }, 120_000);
});
