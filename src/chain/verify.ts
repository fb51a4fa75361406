// Checking one organization's hash chains as stored: entries arrive sorted by chain and sequence
// (AuditReader.chainEntries), every hash is recomputed, every link and position checked. A problem
// is reported once where it is (a changed entry does not make every later one look changed: each
// link is checked against the hash the entry before carries).
import { ChainField, recomputeHash } from './hash.js';

export type ProblemKind =
  /** The entry's content no longer hashes to its chain_hash, or it sits under another event's id. */
  | 'modified'
  /** Positions absent between two entries of a chain (deleted). */
  | 'missing'
  /** A second entry claiming a position an entry already holds, or an entry without chain fields. */
  | 'inserted'
  /** An entry whose chain_prev is not the hash of the entry before it. */
  | 'out_of_order';

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
  /** The first and last positions seen. */
  firstSeq: number;
  lastSeq: number;
  /** The hash the last entry carries. */
  head: string;
  entries: number;
}

export interface VerifyReport {
  organization: string;
  /** Entries read. */
  events: number;
  /** Entries with no problem of their own. */
  valid: number;
  chains: ChainSummary[];
  problems: Problem[];
}

export interface StoredEntry {
  /** The document's _id. */
  id: string;
  source: Record<string, unknown>;
}

/** Verifies one organization's entries, given sorted by chain_id, then chain_seq. */
export async function verifyEntries(
  organization: string,
  entries: AsyncIterable<StoredEntry> | Iterable<StoredEntry>,
  onProgress: (events: number) => void = () => undefined,
): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const chains: ChainSummary[] = [];
  let events = 0;
  let invalid = 0;
  let chain: ChainSummary | undefined;
  let lastHash = '';
  for await (const { id, source } of entries) {
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
    if (chain?.chainId !== chainId) {
      chain = { chainId, firstSeq: seq, lastSeq: seq - 1, head: '', entries: 0 };
      chains.push(chain);
      lastHash = '';
    }
    if (seq <= chain.lastSeq) {
      bad = true;
      problems.push({
        kind: 'inserted',
        chainId,
        seq,
        ...(eventId !== undefined && { eventId }),
        detail: `document ${id} claims position ${seq}, which another entry holds`,
      });
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
    if (recomputed !== hash) {
      bad = true;
      problems.push({
        kind: 'modified',
        chainId,
        seq,
        ...(eventId !== undefined && { eventId }),
        detail: `document ${id}: its content does not hash to its chain_hash`,
      });
    } else if (eventId !== id) {
      bad = true;
      problems.push({
        kind: 'modified',
        chainId,
        seq,
        ...(eventId !== undefined && { eventId }),
        detail: `document ${id} holds the content of event ${eventId}`,
      });
    }
    if (!bad && seq === chain.lastSeq + 1 && chain.entries > 0 && source[ChainField.PREV] !== lastHash) {
      bad = true;
      problems.push({
        kind: 'out_of_order',
        chainId,
        seq,
        ...(eventId !== undefined && { eventId }),
        detail: `document ${id}: its chain_prev is not the hash of position ${seq - 1}`,
      });
    }
    if (bad) invalid++;
    if (seq > chain.lastSeq) {
      chain.lastSeq = seq;
      chain.head = hash;
      lastHash = hash;
    }
    chain.entries++;
  }
  onProgress(events);
  return { organization, events, valid: events - invalid, chains, problems };
}
