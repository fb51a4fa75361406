// Tamper evidence against the real node: events go through the whole pipeline, then are tampered
// with for real through the OpenSearch API, as someone with write access to the audit indices
// could. `pdaas-audit verify` must name each kind of tampering at its position and exit 1, and
// find nothing in the organizations left alone (exit 0).
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { drive, startApp, totalSent } from '../../examples/traffic.js';
import { recomputeHash } from '../../src/chain/hash.js';
import { nodeEnv, pdaas } from '../support/cli.js';
import { expectStoredExactlyOnce, faultAudit, finish, tempDir } from '../support/faults.js';
import { eventsOf, testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

const client = testClient();

interface Hit {
  _id: string;
  _index: string;
  _source: Record<string, unknown>;
}

/** One organization's stored events in chain order (its checkpoints left out). */
async function chainOf(prefix: string, org: string): Promise<Hit[]> {
  await client.indices.refresh({ index: `${prefix}-*` });
  const res = await client.search({
    index: eventsOf(prefix),
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

async function hitsOf(index: string, org: string, sort: object[]): Promise<Hit[]> {
  await client.indices.refresh({ index });
  const res = await client.search({
    index,
    routing: org,
    body: { size: 10_000, query: { term: { organization_id: org } }, sort },
  } as never);
  return (res.body as unknown as { hits: { hits: Hit[] } }).hits.hits;
}

async function remove(hit: Hit, org: string): Promise<void> {
  await client.delete({ index: hit._index, id: hit._id, routing: org, refresh: true } as never);
}

describe('verify', () => {
  it('names every kind of tampering at its position, and finds nothing where nothing was touched', async () => {
    const prefix = uniquePrefix('verify');
    const keyDir = tempDir(`${prefix}-keys`);
    const generated = await pdaas(['keys', 'generate', '--dir', keyDir, '--json']);
    expect(generated.code, generated.stderr).toBe(0);
    const { privateKey, publicKey, keyId } = JSON.parse(generated.stdout) as Record<string, string>;
    const checkpointDir = tempDir(`${prefix}-checkpoints`);
    const { audit, registry } = await faultAudit(prefix, testUrl(), {
      workers: 2,
      signingKeyFile: privateKey as string,
      checkpointIntervalSeconds: 0.5,
      checkpointDir,
    });
    const app = await startApp('hono', audit);
    // Paced over a few seconds, so that every chain gets several checkpoints.
    const sent = await drive(app.url, 1e9, {
      orgs: 9,
      prefix,
      concurrency: 8,
      rate: 500,
      until: Date.now() + 4_000,
    });
    await finish(app, audit, registry);
    await expectStoredExactlyOnce(prefix, totalSent(sent));
    const orgs = [...sent.keys()].sort() as [string, ...string[]];
    const [intact, modified, deleted, inserted, swapped, reordered, truncated, uncheckpointed, rewritten] =
      orgs as string[] as [string, string, string, string, string, string, string, string, string];
    const verify = (org: string, ...extra: string[]) =>
      pdaas(['verify', '--org', org, '--public-key', publicKey as string, ...extra], nodeEnv(prefix));

    const clean = await verify(intact);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain(`${sent.get(intact)}/${sent.get(intact)} events valid`);
    expect(clean.stdout).toMatch(
      /^checkpoints: \d+ read, [1-9]\d* signatures verified, 0 unsigned, 0 not checked$/m,
    );
    const intactCheckpoints = await hitsOf(`${prefix}-checkpoints-*`, intact, [{ chain_seq: 'asc' }]);
    expect(intactCheckpoints.length).toBeGreaterThan(2);
    expect(intactCheckpoints.every((h) => h._source.key_id === keyId)).toBe(true);

    // One field of one event changed.
    const m = await chainOf(prefix, modified);
    await put(m[9] as Hit, { ...(m[9] as Hit)._source, action: 'policies.delete' });
    // One event deleted.
    await remove((await chainOf(prefix, deleted))[19] as Hit, deleted);
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
    // The newest entries of a chain deleted.
    const t = await chainOf(prefix, truncated);
    const lastChain = (t.at(-1) as Hit)._source.chain_id;
    for (const h of t.filter((x) => x._source.chain_id === lastChain).slice(-3)) await remove(h, truncated);
    // A checkpoint deleted from the middle of its chain's checkpoints.
    const cps = await hitsOf(`${prefix}-checkpoints-*`, uncheckpointed, [
      { chain_id: 'asc' },
      { chain_seq: 'asc' },
    ]);
    await remove(cps[Math.floor(cps.length / 2)] as Hit, uncheckpointed);
    // A whole chain rewritten with recomputed hashes and links, without the signing key.
    const w = await chainOf(prefix, rewritten);
    const wChain = (w[0] as Hit)._source.chain_id;
    let prev = '0'.repeat(64);
    for (const h of w.filter((x) => x._source.chain_id === wChain)) {
      const forged = rehash({ ...h._source, action: 'organizations.delete', chain_prev: prev });
      prev = forged.chain_hash as string;
      await put(h, forged);
    }

    const expectations: Array<[string, RegExp]> = [
      [modified, /^modified: chain \S+ position 10 .*does not hash/m],
      [deleted, /^missing: chain \S+ position 20: position 20 is absent/m],
      [inserted, new RegExp(`^inserted: chain \\S+ position 5 \\(event ${forgedId}\\)`, 'm')],
      [swapped, /^modified: chain \S+ position 7 .*holds the content of event/m],
      [reordered, /^out_of_order: chain \S+ position 14 /m],
      [truncated, /^missing: chain \S+ positions \d+-\d+: .*a checkpoint covers them/m],
      [uncheckpointed, /^checkpoint_missing: chain \S+ position \d+: .*not stored \(deleted\)/m],
      [rewritten, /^modified: chain \S+ position \d+: .*the chain was rewritten/m],
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
    const json = await pdaas(
      ['verify', '--org', intact, '--json', '--public-key', publicKey as string],
      nodeEnv(prefix),
    );
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ organization: intact, problems: [], valid: sent.get(intact) });
    expect(report.checkpoints.verified).toBeGreaterThan(0);
    // The checkpoint files, kept apart from the cluster, still hold the deleted checkpoint.
    const fromFiles = await verify(uncheckpointed, '--checkpoint-dir', checkpointDir);
    expect(fromFiles.code, fromFiles.stdout).toBe(0);
    // Without the public key the signatures go unchecked, and verify says so.
    const unchecked = await pdaas(['verify', '--org', intact], nodeEnv(prefix));
    expect(unchecked.code).toBe(0);
    expect(unchecked.stdout).toMatch(/^note: \d+ checkpoint signatures not checked: give --public-key$/m);
    // Checked against another key: every checkpoint's key is unknown.
    const other = await pdaas(['keys', 'generate', '--dir', keyDir, '--name', 'other', '--json']);
    const otherKey = (JSON.parse(other.stdout) as Record<string, string>).publicKey as string;
    const wrongKey = await pdaas(['verify', '--org', intact, '--public-key', otherKey], nodeEnv(prefix));
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toMatch(
      /^unknown_key: chain \S+ position \d+: .*not among the public keys given$/m,
    );

    // A connection failure is no verdict: exit 2.
    const down = await pdaas(['verify', '--org', intact, '--url', 'http://127.0.0.1:9'], nodeEnv(prefix));
    expect(down.code).toBe(2);
  }, 120_000);
});

describe('verify across a restart', () => {
  it("a new process's chains start from the previous process's heads; that chain deleted whole shows", async () => {
    const prefix = uniquePrefix('relink');
    const spoolDir = tempDir(`${prefix}-spool`);
    const run = async (upTo: number, from: number) => {
      const { audit, registry } = await faultAudit(prefix, testUrl(), { spoolDir });
      const app = await startApp('hono', audit);
      const sent = await drive(app.url, upTo, { orgs: 2, prefix, concurrency: 4, from });
      await finish(app, audit, registry);
      return sent;
    };
    await run(200, 0);
    await run(400, 200);
    await expectStoredExactlyOnce(prefix, 400);
    const org = 'org-000';
    const entries = await chainOf(prefix, org);
    const firsts = entries.filter((h) => h._source.chain_seq === 1);
    expect(firsts).toHaveLength(2);
    const linked = firsts.find((h) => h._source.chain_link !== undefined) as Hit;
    const link = linked._source.chain_link as { chain_id: string; chain_seq: number };
    const old = entries.filter((h) => h._source.chain_id === link.chain_id);
    // The new chain starts from the old chain's last entry, with its hash.
    expect(link.chain_seq).toBe(old.length);
    expect(linked._source.chain_prev).toBe((old.at(-1) as Hit)._source.chain_hash);
    const clean = await pdaas(['verify', '--org', org], nodeEnv(prefix));
    expect(clean.code, clean.stdout).toBe(0);

    // The old process's chain deleted whole, its checkpoints too: the link still names it.
    for (const h of old) await remove(h, org);
    const cps = await hitsOf(`${prefix}-checkpoints-*`, org, [{ chain_seq: 'asc' }]);
    for (const h of cps.filter((c) => c._source.chain_id === link.chain_id)) await remove(h, org);
    const res = await pdaas(['verify', '--org', org], nodeEnv(prefix));
    expect(res.code, res.stdout).toBe(1);
    expect(res.stdout).toMatch(
      new RegExp(`^chain_missing: chain ${link.chain_id} position ${link.chain_seq}: `, 'm'),
    );
  }, 120_000);
});
