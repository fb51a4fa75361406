import { generateKeyPairSync } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCheckpoint, keyId, makeCheckpoint } from '../../../src/chain/checkpoint.js';
import { GENESIS, recomputeHash } from '../../../src/chain/hash.js';
import { HeadTable } from '../../../src/chain/heads.js';
import { ChainSequencer } from '../../../src/chain/sequencer.js';
import { verifyEntries } from '../../../src/chain/verify.js';
import { BodyKind } from '../../../src/event.js';
import { createChainHeadsBuffer } from '../../../src/layout.js';
import { IndexNamer, toDocument } from '../../../src/worker/document.js';
import { documentContext, event } from '../../support/captured-event.js';

const ctx = documentContext();
const namer = new IndexNamer(ctx);

function sequencer(buffer = createChainHeadsBuffer(1), committed = 0): ChainSequencer {
  return new ChainSequencer(new HeadTable(buffer, 0), 'abcdef012345-0', committed);
}

/** JSON bodies of every shape: nested objects and arrays, unicode and lone surrogates, odd numbers, keys that are array indexes. */
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.nat(30).map(String)),
      tie('value'),
      {
        maxKeys: 6,
      },
    ),
  ),
})).value;

describe('hash chain', () => {
  it('stores the canonical JSON it hashes: JSON.stringify of a document is RFC 8785 unless an index key is marked', () => {
    fc.assert(
      fc.property(jsonValue, fc.string({ unit: 'binary', maxLength: 20 }), (body, query) => {
        const chain = sequencer();
        const doc = toDocument(
          event({ bodyKind: BodyKind.VALUE, body, query: `q=${encodeURIComponent(query)}` }),
          ctx,
          namer,
          chain,
        );
        const read = JSON.parse(doc.json as string) as Record<string, unknown>;
        // What a verifier reads back recomputes to the stored hash, whatever the body held.
        expect(recomputeHash(read)).toBe(read.chain_hash);
        const { chain_hash: _h, ...rest } = read;
        const reserialized = JSON.stringify(rest);
        // Without array-index keys the document's own JSON is already canonical.
        if (!/"\d+":/.test(reserialized)) expect(reserialized).toBe(canonicalize(rest));
      }),
      { numRuns: 500 },
    );
  });

  it('numbers positions per organization from 1, each linked to the one before', () => {
    const chain = sequencer();
    const seen = new Map<string, { seq: number; hash: string }>();
    for (let i = 0; i < 30; i++) {
      const org = `org-${i % 3}`;
      const doc = toDocument(event({ seq: i, organizationId: org }), ctx, namer, chain);
      const before = seen.get(org) ?? { seq: 0, hash: GENESIS };
      expect(doc.source.chain_seq).toBe(before.seq + 1);
      expect(doc.source.chain_prev).toBe(before.hash);
      expect(doc.source.chain_id).toBe('abcdef012345-0');
      seen.set(org, { seq: doc.source.chain_seq as number, hash: doc.source.chain_hash as string });
    }
    expect(seen.get('org-2')?.seq).toBe(10);
  });

  it('a worker that replaces a terminated one gives the frames it reads again the same positions', () => {
    const buffer = createChainHeadsBuffer(1);
    const first = sequencer(buffer, 0);
    const frames = Array.from({ length: 40 }, (_, i) => event({ seq: i, organizationId: `org-${i % 4}` }));
    const build = (c: ChainSequencer, from: number, to: number) =>
      frames.slice(from, to).map((e) => toDocument({ ...e }, ctx, namer, c).json);
    build(first, 0, 20);
    const commit = first.stage() as number;
    first.committed(commit);
    // The next batch is built and its heads staged, but the worker dies before the commit is
    // journaled: Stat.CHAIN_COMMIT still says `commit`.
    const lost = build(first, 20, 40);
    expect(first.stage()).toBe(commit + 1);
    const successor = sequencer(buffer, commit);
    expect(build(successor, 20, 40)).toEqual(lost);
    // And once more, cut short again after its own staging.
    successor.stage();
    expect(build(sequencer(buffer, commit), 20, 40)).toEqual(lost);
  });

  it('stamps heads so that a commit cut short never touches what the last finished one left', () => {
    const buffer = createChainHeadsBuffer(1);
    const table = new HeadTable(buffer, 0);
    const slot = table.slotOf(Buffer.alloc(16, 7));
    table.write(slot, { seq: 5, hash: 'a'.repeat(64) }, 1, 0);
    table.write(slot, { seq: 9, hash: 'b'.repeat(64) }, 2, 1);
    // Commit 3 written but never journaled, then commit 3 written again by a successor.
    table.write(slot, { seq: 12, hash: 'c'.repeat(64) }, 3, 2);
    expect(table.read(slot, 2)).toEqual({ seq: 9, hash: 'b'.repeat(64) });
    table.write(slot, { seq: 11, hash: 'd'.repeat(64) }, 3, 2);
    expect(table.read(slot, 2)).toEqual({ seq: 9, hash: 'b'.repeat(64) });
    expect(table.read(slot, 3)).toEqual({ seq: 11, hash: 'd'.repeat(64) });
    expect(table.slotOf(Buffer.alloc(16, 7))).toBe(slot);
    expect(table.read(table.slotOf(Buffer.alloc(16, 8)), 3)).toBeUndefined();
  });
});

describe('verifying', () => {
  const entriesOf = (n: number, org = 'org-v') => {
    const chain = sequencer();
    return Array.from({ length: n }, (_, i) => {
      const doc = toDocument(event({ seq: i, organizationId: org }), ctx, namer, chain);
      return { id: doc.id, source: JSON.parse(doc.json as string) as Record<string, unknown> };
    });
  };

  it('a forged entry sorted before the genuine one at its position is the one named inserted', async () => {
    const entries = entriesOf(10);
    const genuine = entries[4] as { id: string; source: Record<string, unknown> };
    const forgedSource = { ...genuine.source, event_id: '00000000-forged', actor_id: 'mallory' };
    const forged = {
      id: '00000000-forged',
      source: { ...forgedSource, chain_hash: recomputeHash(forgedSource) },
    };
    const report = await verifyEntries('org-v', [...entries.slice(0, 4), forged, ...entries.slice(4)]);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'inserted', seq: 5, eventId: '00000000-forged' }),
    ]);
    expect(report.valid).toBe(10);
  });

  it('checks checkpoints: signed, unsigned, another key, changed, and the head they name', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const key = { key: privateKey, keyId: keyId(publicKey) };
    const entries = entriesOf(6);
    const head = entries[5] as { source: Record<string, unknown> };
    const at = new Date();
    const cp1 = makeCheckpoint(
      {
        organization: 'org-v',
        chainId: 'abcdef012345-0',
        seq: 3,
        hash: String(entries[2]?.source.chain_hash),
      },
      undefined,
      at,
      key,
    );
    const cp2 = makeCheckpoint(
      { organization: 'org-v', chainId: 'abcdef012345-0', seq: 6, hash: String(head.source.chain_hash) },
      cp1.checkpoint_hash,
      at,
      key,
    );
    const keys = new Map([[key.keyId, publicKey]]);
    expect(checkCheckpoint(cp2, keys)).toBe('valid');
    expect(checkCheckpoint(cp2, new Map([[key.keyId, generateKeyPairSync('ed25519').publicKey]]))).toBe(
      'signature_invalid',
    );
    expect(checkCheckpoint(cp2, new Map())).toBe('unknown_key');
    expect(checkCheckpoint({ ...cp2, chain_seq: 7 }, keys)).toBe('hash_mismatch');
    expect(
      checkCheckpoint(
        makeCheckpoint({ organization: 'o', chainId: 'c', seq: 1, hash: GENESIS }, undefined, at, undefined),
        keys,
      ),
    ).toBe('unsigned');

    const clean = await verifyEntries('org-v', entries, { checkpoints: [cp1, cp2], keys });
    expect(clean.problems).toEqual([]);
    expect(clean.checkpoints).toEqual({ read: 2, verified: 2, unsigned: 0, unchecked: 0 });
    // The newest entry deleted: the checkpoint still covers it.
    const truncated = await verifyEntries('org-v', entries.slice(0, 5), { checkpoints: [cp1, cp2], keys });
    expect(truncated.problems).toEqual([expect.objectContaining({ kind: 'missing', seq: 6, count: 1 })]);
    // The first checkpoint deleted: the second links to it.
    const unlinked = await verifyEntries('org-v', entries, { checkpoints: [cp2], keys });
    expect(unlinked.problems).toEqual([expect.objectContaining({ kind: 'checkpoint_missing', seq: 6 })]);
  });
});

describe('voided positions', () => {
  it('a gap a checkpoint lists as voided is not missing; one it does not list is', async () => {
    const chain = sequencer();
    const entries = Array.from({ length: 8 }, (_, i) => {
      const doc = toDocument(event({ seq: i, organizationId: 'org-w' }), ctx, namer, chain);
      return { id: doc.id, source: JSON.parse(doc.json as string) as Record<string, unknown> };
    });
    const last = entries[7] as { source: Record<string, unknown> };
    const cp = makeCheckpoint(
      { organization: 'org-w', chainId: 'abcdef012345-0', seq: 8, hash: String(last.source.chain_hash) },
      undefined,
      new Date(),
      undefined,
      [3, 5],
    );
    const stored = entries.filter((_, i) => i !== 2 && i !== 4 && i !== 5);
    const report = await verifyEntries('org-w', stored, { checkpoints: [cp] });
    expect(report.voided).toBe(2);
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'missing', seq: 6, count: 1 })]);
  });
});
