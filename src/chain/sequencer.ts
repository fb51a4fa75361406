// The worker side of the hash chains: one chain per organization per shard of this process, its
// positions handed out in the order frames are read. The heads move in memory as documents are
// built and reach the shared head table (heads.ts) with each commit, stamped with the commit's
// number; a worker that replaces a terminated one starts from the heads of the last finished
// commit and, reading the same frames again, hands out the same positions.
import { GENESIS } from './hash.js';
import { type Head, type HeadTable, orgKey } from './heads.js';
import type { ChainLink, Predecessor } from './links.js';

interface Chain {
  /** The table slot. */
  slot: number;
  seq: number;
  hash: string;
  /** When the head entry's request happened (ms) and its index, when this worker built it; 0 and '' when unknown. */
  at: number;
  index: string;
  dirty: boolean;
}

export interface Position {
  seq: number;
  prev: string;
  /** On a chain's first entry, when an earlier process's chain for the organization is known. */
  link?: ChainLink;
}

export class ChainSequencer {
  readonly #table: HeadTable;
  readonly #chains = new Map<string, Chain>();
  #committed: number;
  /** Slots of chains moved since the last commit. */
  readonly #dirty: Chain[] = [];
  /** Positions given to events that will never be stored (refused or dropped), per organization. */
  readonly #voided = new Map<string, number[]>();

  /**
   * `chainId` names this writer (the process instance and the shard); `committed` is the shard's
   * last finished commit (Stat.CHAIN_COMMIT).
   */
  readonly #predecessors: ReadonlyMap<string, Predecessor>;

  /**
   * `predecessors`: where earlier processes' chains ended, per organization (links.ts); a new
   * chain starts from there instead of from GENESIS.
   */
  constructor(
    table: HeadTable,
    readonly chainId: string,
    committed: number,
    predecessors: ReadonlyMap<string, Predecessor> = new Map(),
  ) {
    this.#table = table;
    this.#committed = committed;
    this.#predecessors = predecessors;
  }

  /**
   * The next position of `org`'s chain, or undefined when the head table has no room for another
   * organization (the event is stored unchained and counted as chain overflow).
   */
  next(org: string): Position | undefined {
    let chain = this.#chains.get(org);
    if (!chain) {
      const slot = this.#table.slotOf(orgKey(org));
      if (slot < 0) return undefined;
      const head: Head = this.#table.read(slot, this.#committed) ?? { seq: 0, hash: GENESIS };
      chain = { slot, seq: head.seq, hash: head.hash, at: 0, index: '', dirty: false };
      this.#chains.set(org, chain);
    }
    if (chain.seq === 0) {
      // The first entry: it links to an earlier process's chain when one is known. The same
      // files give a successor worker the same link for the frames it reads again.
      const before = this.#predecessors.get(org);
      if (before) return { seq: 1, prev: before.hash, link: before.link };
    }
    return { seq: chain.seq + 1, prev: chain.hash };
  }

  /** Moves `org`'s head to the entry just built at the position next() gave (its time, ms, and index). */
  advance(org: string, seq: number, hash: string, at = 0, index = ''): void {
    const chain = this.#chains.get(org) as Chain;
    chain.seq = seq;
    chain.hash = hash;
    chain.at = at;
    chain.index = index;
    if (!chain.dirty) {
      chain.dirty = true;
      this.#dirty.push(chain);
    }
  }

  /**
   * Writes the heads moved since the last commit into the table, stamped with the next commit
   * number, and returns that number (to journal as Stat.CHAIN_COMMIT), or undefined when nothing
   * moved. Call committed() once the commit is done.
   */
  stage(): number | undefined {
    if (this.#dirty.length === 0) return undefined;
    const commit = this.#committed + 1;
    for (const chain of this.#dirty) {
      this.#table.write(chain.slot, { seq: chain.seq, hash: chain.hash }, commit, this.#committed);
      chain.dirty = false;
    }
    this.#dirty.length = 0;
    return commit;
  }

  committed(commit: number): void {
    this.#committed = commit;
  }

  /**
   * Where every chain of this writer stands now, for checkpoints: call it between commits (no
   * document built since the last one), when these are the committed heads.
   */
  heads(): Array<Head & { organization: string; at: number; index: string }> {
    const out: Array<Head & { organization: string; at: number; index: string }> = [];
    for (const [organization, c] of this.#chains)
      if (c.seq > 0) out.push({ organization, seq: c.seq, hash: c.hash, at: c.at, index: c.index });
    return out;
  }

  /**
   * Notes that `doc` will never be stored (refused for good, or dropped after its position was
   * given): the next checkpoint of its chain lists the position, so verify does not take the gap
   * for a deletion. Documents of another writer's chain (an earlier process's spool) are not ours
   * to list.
   */
  void(source: Record<string, unknown>): void {
    const seq = source.chain_seq;
    const org = source.organization_id;
    if (source.chain_id !== this.chainId || typeof seq !== 'number' || typeof org !== 'string') return;
    const list = this.#voided.get(org);
    if (list) list.push(seq);
    else this.#voided.set(org, [seq]);
  }

  /** The positions of `org` voided since the last call, sorted. */
  takeVoided(org: string): number[] {
    const list = this.#voided.get(org);
    if (!list) return [];
    this.#voided.delete(org);
    return list.sort((a, b) => a - b);
  }

  /** The hash of the last stored checkpoint of `org`'s chain (this worker's or a predecessor's). */
  lastCheckpoint(org: string): string | undefined {
    const chain = this.#chains.get(org);
    return chain ? this.#table.readCheckpoint(chain.slot) : undefined;
  }

  /** Records that `org`'s checkpoint `checkpointHash` is stored. */
  checkpointed(org: string, checkpointHash: string): void {
    const chain = this.#chains.get(org);
    if (chain) this.#table.writeCheckpoint(chain.slot, checkpointHash);
  }
}
