// One shard's view of the chain-head table (layout in src/layout.ts, ChainHeads): where each
// organization's chain stands as of the shard's last finished commit. Only the shard's worker
// writes it; a worker that replaces a terminated one reads it to go on from the same heads.
import { hash } from 'node:crypto';
import { CHAIN_HEAD_SLOTS, ChainHeads } from '../layout.js';

export interface Head {
  seq: number;
  /** Hex SHA-256 of the entry at `seq`. */
  hash: string;
}

/** 16 bytes of SHA-256 of the organization id: the slot key (never all zero in practice). */
export function orgKey(org: string): Buffer {
  return hash('sha256', org, 'buffer').subarray(0, ChainHeads.KEY_BYTES);
}

export class HeadTable {
  readonly #bytes: Uint8Array;
  readonly #cells: BigInt64Array;
  readonly #base: number;

  constructor(buffer: SharedArrayBuffer, shard: number) {
    this.#base = shard * CHAIN_HEAD_SLOTS * ChainHeads.SLOT_BYTES;
    this.#bytes = new Uint8Array(buffer, this.#base, CHAIN_HEAD_SLOTS * ChainHeads.SLOT_BYTES);
    this.#cells = new BigInt64Array(buffer, this.#base, (CHAIN_HEAD_SLOTS * ChainHeads.SLOT_BYTES) / 8);
  }

  /**
   * The slot holding `key`, or a free one claimed for it; -1 when the table is full. Claiming
   * writes the key only: a slot without a valid version means "no head yet".
   */
  slotOf(key: Uint8Array): number {
    const start =
      ((key[0] as number) | ((key[1] as number) << 8) | ((key[2] as number) << 16)) % CHAIN_HEAD_SLOTS;
    for (let i = 0; i < CHAIN_HEAD_SLOTS; i++) {
      const slot = (start + i) % CHAIN_HEAD_SLOTS;
      const at = slot * ChainHeads.SLOT_BYTES + ChainHeads.KEY;
      const stored = this.#bytes.subarray(at, at + ChainHeads.KEY_BYTES);
      if (equal(stored, key)) return slot;
      if (stored.every((b) => b === 0)) {
        stored.set(key);
        return slot;
      }
    }
    return -1;
  }

  /** The head valid after commit `committed`, or undefined when the slot has none. */
  read(slot: number, committed: number): Head | undefined {
    const v = this.#valid(slot, committed);
    if (v < 0) return undefined;
    const at = slot * ChainHeads.SLOT_BYTES + (ChainHeads.VERSION[v] as number);
    const seq = Number(Atomics.load(this.#cells, (at + ChainHeads.VERSION_SEQ) / 8));
    const head = this.#bytes.subarray(
      at + ChainHeads.VERSION_HEAD,
      at + ChainHeads.VERSION_HEAD + ChainHeads.HEAD_BYTES,
    );
    return { seq, hash: Buffer.from(head).toString('hex') };
  }

  /** Writes `head` as the version of commit `commit`, over the version that is not valid after `committed`. */
  write(slot: number, head: Head, commit: number, committed: number): void {
    const v = 1 - Math.max(0, this.#valid(slot, committed));
    const at = slot * ChainHeads.SLOT_BYTES + (ChainHeads.VERSION[v] as number);
    this.#bytes.set(Buffer.from(head.hash, 'hex'), at + ChainHeads.VERSION_HEAD);
    Atomics.store(this.#cells, (at + ChainHeads.VERSION_SEQ) / 8, BigInt(head.seq));
    // Last: the stamp makes the version count once the commit is journaled.
    Atomics.store(this.#cells, (at + ChainHeads.VERSION_COMMIT) / 8, BigInt(commit));
  }

  /** The hash of the chain's last stored checkpoint, or undefined before its first. */
  readCheckpoint(slot: number): string | undefined {
    const at = slot * ChainHeads.SLOT_BYTES;
    if (Atomics.load(this.#cells, (at + ChainHeads.CHECKPOINT_SET) / 8) !== 1n) return undefined;
    const bytes = this.#bytes.subarray(
      at + ChainHeads.CHECKPOINT,
      at + ChainHeads.CHECKPOINT + ChainHeads.HEAD_BYTES,
    );
    return Buffer.from(bytes).toString('hex');
  }

  writeCheckpoint(slot: number, checkpointHash: string): void {
    const at = slot * ChainHeads.SLOT_BYTES;
    this.#bytes.set(Buffer.from(checkpointHash, 'hex'), at + ChainHeads.CHECKPOINT);
    Atomics.store(this.#cells, (at + ChainHeads.CHECKPOINT_SET) / 8, 1n);
  }

  /** 0 or 1: the version with the highest stamp not above `committed` (and above 0), or -1. */
  #valid(slot: number, committed: number): number {
    let best = -1;
    let bestStamp = 0;
    for (let v = 0; v < 2; v++) {
      const at = slot * ChainHeads.SLOT_BYTES + (ChainHeads.VERSION[v] as number) + ChainHeads.VERSION_COMMIT;
      const stamp = Number(Atomics.load(this.#cells, at / 8));
      if (stamp > 0 && stamp <= committed && stamp > bestStamp) {
        best = v;
        bestStamp = stamp;
      }
    }
    return best;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
