// Checking one organization's hash chains as stored: entries arrive sorted by chain and sequence
// (AuditReader.chainEntries), every hash is recomputed, every link and position checked. A problem
// is reported once where it is (a changed entry does not make every later one look changed: each
// link is checked against the hash the entry before carries).
import type { KeyObject } from 'node:crypto';
import { type Checkpoint, checkCheckpoint } from './checkpoint.js';
import { ChainField, GENESIS, recomputeHash } from './hash.js';
import type { ChainLink } from './links.js';

export type ProblemKind =
  /** The entry's content no longer hashes to its chain_hash, or it sits under another event's id. */
  | 'modified'
  /** Positions absent between two entries of a chain (deleted). */
  | 'missing'
  /** A second entry claiming a position an entry already holds, or an entry without chain fields. */
  | 'inserted'
  /** An entry whose chain_prev is not the hash of the entry before it. */
  | 'out_of_order'
  /** A chain that checkpoints name but of which no entry is stored. */
  | 'chain_missing'
  /** A checkpoint that links to one no longer stored (deleted), or whose content changed. */
  | 'checkpoint_missing'
  /** A signed checkpoint whose signature does not verify. */
  | 'signature_invalid'
  /** A checkpoint signed by a key not among those given. */
  | 'unknown_key';

export interface Problem {
  kind: ProblemKind;
  chainId: string;
  /** The position (the first one, for a run of missing positions). */
  seq: number;
  /** For `missing`: how many positions. */
  count?: number;
  eventId?: string;
  detail: string;
}

export interface ChainSummary {
  chainId: string;
  /** The last position a usable checkpoint covers (0: none), and the entries past it (unprotected). */
  checkpointedSeq: number;
  afterCheckpoint: number;
  /** The first and last positions seen. */
  firstSeq: number;
  lastSeq: number;
  /** The hash the last entry carries. */
  head: string;
  entries: number;
}

/**
 * What `reader.verify()` (and `pdaas-audit verify`) found for one organization: the entries read
 * and valid, each chain, each problem with its kind and position, and the checkpoints checked.
 * No problems: intact.
 *
 * @example
 * const report = await createReader({ organizationId: 'org-42' }).verify({ from: '2026-11-01' });
 * if (report.problems.length > 0) console.error(report.problems.map((p) => `${p.kind} ${p.chainId}#${p.seq}`));
 */
export interface VerifyReport {
  organization: string;
  /** Entries read. */
  events: number;
  /** Entries with no problem of their own. */
  valid: number;
  chains: ChainSummary[];
  problems: Problem[];
  /**
   * Positions of the chains read that checkpoints list as voided: events refused by OpenSearch for
   * good or dropped with a counted reason after their position was given; absent, not deleted.
   */
  voided: number;
  checkpoints: {
    /** Read, and of those: signed and verified, unsigned, signed but not checked (no public key given). */
    read: number;
    verified: number;
    unsigned: number;
    unchecked: number;
  };
}

export interface StoredEntry {
  /** The document's _id. */
  id: string;
  source: Record<string, unknown>;
}

export interface VerifyOptions {
  /** The organization's checkpoints (any order); none: only the chains are checked. */
  checkpoints?: readonly Checkpoint[];
  /** Public keys by key id (checkpoint.ts keyId()). */
  keys?: ReadonlyMap<string, KeyObject>;
  /**
   * The range's start, when one was given (ms): the first checkpoint read of a chain may then link
   * to an earlier one, and with no entry read, a chain is missing only if checkpointed since.
   */
  since?: number;
  onProgress?: (events: number) => void;
}

/** A chain's first entry that names its predecessor. */
export interface ChainStart {
  chainId: string;
  /** Its chain_prev: the hash the predecessor's entry must carry. */
  prev: string;
  link: ChainLink;
}

/** Verifies one organization's entries, given sorted by chain_id, then chain_seq, against its checkpoints. */
export async function verifyEntries(
  organization: string,
  entries: AsyncIterable<StoredEntry> | Iterable<StoredEntry>,
  opts: VerifyOptions = {},
): Promise<VerifyReport> {
  const onProgress = opts.onProgress ?? (() => undefined);
  const problems: Problem[] = [];
  const cps = checkCheckpoints(
    opts.checkpoints ?? [],
    opts.keys ?? new Map(),
    opts.since !== undefined,
    problems,
  );
  /** The stored hash at each checkpointed position, per chain, filled while streaming. */
  const atCheckpoints = new Map<string, Map<number, string>>();
  let oldest = Number.POSITIVE_INFINITY;
  const chains: ChainSummary[] = [];
  let events = 0;
  let invalid = 0;
  let chain: ChainSummary | undefined;
  let lastHash = '';
  for await (const { id, source } of genuineFirst(entries)) {
    events++;
    if (events % 1000 === 0) onProgress(events);
    const chainId = source[ChainField.ID];
    const seq = source[ChainField.SEQ];
    const eventId = typeof source.event_id === 'string' ? source.event_id : undefined;
    if (typeof chainId !== 'string' || typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) {
      invalid++;
      problems.push({
        kind: 'inserted',
        chainId: typeof chainId === 'string' ? chainId : '-',
        seq: typeof seq === 'number' ? seq : 0,
        ...(eventId !== undefined && { eventId }),
        detail: `document ${id} carries no chain position (written outside the audit pipeline, or by a version before the chain)`,
      });
      continue;
    }
    const hash = String(source[ChainField.HASH] ?? '');
    let bad = false;
    /** Reports a problem of this entry; it then counts as invalid. */
    const flag = (kind: ProblemKind, detail: string) => {
      bad = true;
      problems.push({ kind, chainId, seq, ...(eventId !== undefined && { eventId }), detail });
    };
    const at = Date.parse(String(source.occurred_at));
    if (at < oldest) oldest = at;
    if (chain?.chainId !== chainId) {
      chain = {
        chainId,
        checkpointedSeq: 0,
        afterCheckpoint: 0,
        firstSeq: seq,
        lastSeq: seq - 1,
        head: '',
        entries: 0,
      };
      chains.push(chain);
      lastHash = '';
    }
    if (cps.positions.get(chainId)?.has(seq)) {
      const m = atCheckpoints.get(chainId) ?? new Map<number, string>();
      atCheckpoints.set(chainId, m);
      if (!m.has(seq)) m.set(seq, hash);
    }
    if (seq <= chain.lastSeq) {
      flag('inserted', `document ${id} claims position ${seq}, which another entry holds`);
    } else if (seq > chain.lastSeq + 1 && chain.entries > 0) {
      problems.push({
        kind: 'missing',
        chainId,
        seq: chain.lastSeq + 1,
        count: seq - chain.lastSeq - 1,
        detail:
          seq - chain.lastSeq > 2
            ? `positions ${chain.lastSeq + 1}-${seq - 1} are absent (deleted)`
            : `position ${chain.lastSeq + 1} is absent (deleted)`,
      });
    }
    let recomputed: string;
    try {
      recomputed = recomputeHash(source);
    } catch (err) {
      recomputed = `unhashable: ${(err as Error).message}`;
    }
    if (recomputed !== hash) flag('modified', `document ${id}: its content does not hash to its chain_hash`);
    else if (eventId !== id) flag('modified', `document ${id} holds the content of event ${eventId}`);
    if (!bad && seq === chain.lastSeq + 1 && chain.entries > 0 && source[ChainField.PREV] !== lastHash)
      flag('out_of_order', `document ${id}: its chain_prev is not the hash of position ${seq - 1}`);
    if (bad) invalid++;
    if (seq > chain.lastSeq) {
      chain.lastSeq = seq;
      chain.head = hash;
      lastHash = hash;
    }
    chain.entries++;
  }
  onProgress(events);
  // With no entry read, only checkpoints since the range's start say a chain should be here.
  const expectedFrom = Number.isFinite(oldest) ? oldest : (opts.since ?? Number.POSITIVE_INFINITY);
  invalid += compareWithCheckpoints(chains, cps.usable, atCheckpoints, expectedFrom, problems);
  excuseVoided(problems, cps.usable);
  const seen = new Set(chains.map((c) => c.chainId));
  let voided = 0;
  for (const [chainId, list] of cps.usable)
    if (seen.has(chainId)) for (const cp of list) voided += cp.voided?.length ?? 0;
  return {
    organization,
    events,
    valid: Math.max(0, events - invalid),
    chains,
    problems,
    voided,
    checkpoints: {
      read: cps.read,
      verified: cps.verified,
      unsigned: cps.unsigned,
      unchecked: cps.unchecked,
    },
  };
}

interface CheckedCheckpoints {
  read: number;
  verified: number;
  unsigned: number;
  unchecked: number;
  /** Checkpoints whose content and signature (if any) hold, by chain. */
  usable: Map<string, Checkpoint[]>;
  /** The positions they cover, by chain. */
  positions: Map<string, Set<number>>;
}

/** Each checkpoint's own hash and signature, and the links between a chain's checkpoints. */
function checkCheckpoints(
  all: readonly Checkpoint[],
  keys: ReadonlyMap<string, KeyObject>,
  ranged: boolean,
  problems: Problem[],
): CheckedCheckpoints {
  const out: CheckedCheckpoints = {
    read: all.length,
    verified: 0,
    unsigned: 0,
    unchecked: 0,
    usable: new Map(),
    positions: new Map(),
  };
  const byChain = new Map<string, Checkpoint[]>();
  for (const cp of all) {
    const list = byChain.get(cp.chain_id);
    if (list) list.push(cp);
    else byChain.set(cp.chain_id, [cp]);
  }
  for (const [chainId, list] of byChain) {
    list.sort((a, b) => a.chain_seq - b.chain_seq || a.occurred_at.localeCompare(b.occurred_at));
    const stored = new Set(list.map((c) => c.checkpoint_hash));
    const usable: Checkpoint[] = [];
    list.forEach((cp, i) => {
      const where = { chainId, seq: cp.chain_seq };
      const verdict = checkCheckpoint(cp, keys);
      if (verdict === 'hash_mismatch') {
        problems.push({
          kind: 'checkpoint_missing',
          ...where,
          detail: `the checkpoint of ${cp.occurred_at} was changed: its content does not hash to its checkpoint_hash`,
        });
        return;
      }
      if (verdict === 'signature_invalid') {
        problems.push({
          kind: 'signature_invalid',
          ...where,
          detail: `the checkpoint of ${cp.occurred_at} carries a signature that does not verify under key ${cp.key_id}`,
        });
        return;
      }
      if (verdict === 'unknown_key' && keys.size === 0) {
        // No public key given: the signature is not checked, and the report says so.
        out.unchecked++;
      } else if (verdict === 'unknown_key') {
        problems.push({
          kind: 'unknown_key',
          ...where,
          detail: `the checkpoint of ${cp.occurred_at} is signed by key ${cp.key_id}, which is not among the public keys given`,
        });
        return;
      }
      if (verdict === 'valid') out.verified++;
      else if (verdict === 'unsigned') out.unsigned++;
      const first = i === 0 && ranged;
      if (!first && cp.checkpoint_prev !== GENESIS && !stored.has(cp.checkpoint_prev))
        problems.push({
          kind: 'checkpoint_missing',
          ...where,
          detail: `the checkpoint of ${cp.occurred_at} follows checkpoint ${cp.checkpoint_prev.slice(0, 16)}…, which is not stored (deleted)`,
        });
      usable.push(cp);
    });
    out.usable.set(chainId, usable);
    out.positions.set(chainId, new Set(usable.map((c) => c.chain_seq)));
  }
  return out;
}

/**
 * What the chains alone cannot show: newest entries deleted (a checkpoint covers positions past
 * the last stored one), a chain rewritten whole (a stored hash differs from the checkpoint's), or a
 * chain deleted whole. Returns how many more entries are invalid.
 */
function compareWithCheckpoints(
  chains: ChainSummary[],
  usable: Map<string, Checkpoint[]>,
  atCheckpoints: Map<string, Map<number, string>>,
  oldest: number,
  problems: Problem[],
): number {
  let invalid = 0;
  const seen = new Set(chains.map((c) => c.chainId));
  for (const chain of chains) {
    const list = usable.get(chain.chainId) ?? [];
    const stored = atCheckpoints.get(chain.chainId);
    const rewritten = new Set<number>();
    for (const cp of list) {
      if (cp.chain_seq < chain.firstSeq) continue; // before the range, or past retention
      chain.checkpointedSeq = Math.max(chain.checkpointedSeq, cp.chain_seq);
      const hash = stored?.get(cp.chain_seq);
      if (hash !== undefined && hash !== cp.chain_hash && !rewritten.has(cp.chain_seq)) {
        rewritten.add(cp.chain_seq);
        invalid++;
        problems.push({
          kind: 'modified',
          chainId: chain.chainId,
          seq: cp.chain_seq,
          detail: `the entry at position ${cp.chain_seq} is not the one the checkpoint of ${cp.occurred_at} names: the chain was rewritten`,
        });
      }
    }
    if (chain.checkpointedSeq > chain.lastSeq)
      problems.push({
        kind: 'missing',
        chainId: chain.chainId,
        seq: chain.lastSeq + 1,
        count: chain.checkpointedSeq - chain.lastSeq,
        detail: `positions ${chain.lastSeq + 1}-${chain.checkpointedSeq} are absent: a checkpoint covers them (the newest entries were deleted)`,
      });
    chain.afterCheckpoint = Math.max(0, chain.lastSeq - chain.checkpointedSeq);
  }
  for (const [chainId, list] of usable) {
    if (seen.has(chainId)) continue;
    // A chain whose checkpoints are newer than the oldest event read should have entries here;
    // older ones belong to events past retention or before the range.
    const last = list.at(-1);
    if (last && last.chain_seq > 0 && Date.parse(last.occurred_at) >= oldest)
      problems.push({
        kind: 'chain_missing',
        chainId,
        seq: 1,
        detail: `checkpoints cover positions 1-${last.chain_seq} (the last of ${last.occurred_at}), but no entry of the chain is stored`,
      });
  }
  return invalid;
}

function positionOf(e: StoredEntry): string | undefined {
  const chainId = e.source[ChainField.ID];
  const seq = e.source[ChainField.SEQ];
  return typeof chainId === 'string' && typeof seq === 'number' ? `${chainId}\u0000${seq}` : undefined;
}

function selfConsistent(e: StoredEntry): boolean {
  try {
    return recomputeHash(e.source) === e.source[ChainField.HASH] && e.source.event_id === e.id;
  } catch {
    return false;
  }
}

/**
 * The entries, with each group that claims one position reordered so that the genuine entry comes
 * first and the others are reported as inserted: the one the next entry links to, else the one
 * that hashes right and links to the entry before, else the first. (Sorted by event id within a
 * position, a forged entry could otherwise come first and make the genuine one look inserted.)
 */
async function* genuineFirst(
  entries: AsyncIterable<StoredEntry> | Iterable<StoredEntry>,
): AsyncGenerator<StoredEntry> {
  let group: StoredEntry[] = [];
  let before: StoredEntry | undefined;
  const flush = (next: StoredEntry | undefined): StoredEntry[] => {
    if (group.length > 1) {
      const key = positionOf(group[0] as StoredEntry);
      const nextPrev =
        next && key !== undefined && positionOf(next)?.split('\u0000')[0] === key.split('\u0000')[0]
          ? next.source[ChainField.PREV]
          : undefined;
      const prevHash = before?.source[ChainField.HASH];
      const pick =
        group.findIndex((e) => nextPrev !== undefined && e.source[ChainField.HASH] === nextPrev) >= 0
          ? group.findIndex((e) => e.source[ChainField.HASH] === nextPrev)
          : Math.max(
              0,
              group.findIndex((e) => selfConsistent(e) && e.source[ChainField.PREV] === prevHash),
            );
      const [genuine] = group.splice(pick, 1);
      group.unshift(genuine as StoredEntry);
    }
    const out = group;
    before = out[0] ?? before;
    group = [];
    return out;
  };
  for await (const e of entries) {
    const key = positionOf(e);
    if (group.length > 0 && (key === undefined || key !== positionOf(group[0] as StoredEntry)))
      yield* flush(e);
    group.push(e);
  }
  yield* flush(undefined);
}

/**
 * Takes out of the `missing` problems the positions a usable checkpoint lists as voided (events
 * that were never to be stored); a run partly voided is reported for what is left, in pieces.
 */
function excuseVoided(problems: Problem[], usable: Map<string, Checkpoint[]>): void {
  const voidedOf = new Map<string, Set<number>>();
  // Sets, so a position listed twice (two workers' rounds overlapping) counts once here.
  for (const [chainId, list] of usable) {
    const set = new Set<number>();
    for (const cp of list) for (const seq of cp.voided ?? []) set.add(seq);
    if (set.size > 0) voidedOf.set(chainId, set);
  }
  if (voidedOf.size === 0) return;
  const kept: Problem[] = [];
  for (const p of problems) {
    const voided = voidedOf.get(p.chainId);
    if (p.kind !== 'missing' || !voided) {
      kept.push(p);
      continue;
    }
    let runStart: number | undefined;
    const end = p.seq + (p.count ?? 1);
    for (let seq = p.seq; seq <= end; seq++) {
      const absent = seq < end && !voided.has(seq);
      if (absent && runStart === undefined) runStart = seq;
      if (!absent && runStart !== undefined) {
        const count = seq - runStart;
        kept.push({
          ...p,
          seq: runStart,
          count,
          detail:
            count > 1
              ? `positions ${runStart}-${seq - 1} are absent (deleted)`
              : `position ${runStart} is absent (deleted)`,
        });
        runStart = undefined;
      }
    }
  }
  problems.splice(0, problems.length, ...kept);
}

/** What the store holds where a chain's first entry says its predecessor ended. */
export interface LinkLookup {
  start: ChainStart;
  /** The hash stored at the named position, when an entry is there. */
  hash: string | undefined;
  /** Entries of the predecessor chain stored, and its last position. */
  entries: number;
  lastSeq: number;
  /** A checkpoint of the predecessor lists the named position as voided. */
  voided: boolean;
  /** The index the named entry went to still exists (false: gone, as retention deletes indices). */
  indexExists: boolean;
}

/**
 * A chain that starts from an earlier process's chain must find the entry it names, carrying the
 * hash it starts from: otherwise the earlier chain's newest entries were deleted (missing), that
 * entry changed (out_of_order at the link), or the earlier chain deleted whole (chain_missing).
 * An entry whose index no longer exists is taken as gone by retention (which deletes whole
 * indices), not by tampering.
 */
export function linkProblems(lookups: readonly LinkLookup[]): Problem[] {
  const out: Problem[] = [];
  for (const { start, hash, entries, lastSeq, voided, indexExists } of lookups) {
    const { link } = start;
    if (hash !== undefined) {
      if (hash !== start.prev)
        out.push({
          kind: 'out_of_order',
          chainId: start.chainId,
          seq: 1,
          detail: `its first entry starts from position ${link.chain_seq} of chain ${link.chain_id}, whose stored entry has another hash`,
        });
      continue;
    }
    if (voided || !indexExists) continue;
    if (entries === 0)
      out.push({
        kind: 'chain_missing',
        chainId: link.chain_id,
        seq: link.chain_seq,
        detail: `chain ${start.chainId} starts from its position ${link.chain_seq} (of ${link.occurred_at}), but no entry of it is stored`,
      });
    else if (lastSeq < link.chain_seq)
      out.push({
        kind: 'missing',
        chainId: link.chain_id,
        seq: lastSeq + 1,
        count: link.chain_seq - lastSeq,
        detail: `positions ${lastSeq + 1}-${link.chain_seq} are absent: chain ${start.chainId} starts from position ${link.chain_seq} (the newest entries were deleted)`,
      });
  }
  return out;
}
