// The circuit breaker all workers share, kept in a small SharedArrayBuffer so that one worker's
// failures open it for every worker. CLOSED → OPEN after AUDIT_BREAKER_FAILURES consecutive failed
// bulk requests; OPEN for AUDIT_BREAKER_COOLDOWN_SECONDS; then HALF_OPEN lets exactly one probe
// through (the worker that wins the compare-and-swap); its success closes the breaker, its failure
// opens it again.

export const BreakerState = { CLOSED: 0, OPEN: 1, HALF_OPEN: 2 } as const;
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState];

const STATE = 0;
const FAILURES = 1;
/** When it opened, in ms since the breaker was created (fits an Int32 for 24 days; wraps harmlessly). */
const OPENED_AT = 2;
const SLOTS = 4;

export function createBreakerBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(SLOTS * 4);
}

export type Transition = 'opened' | 'closed' | undefined;

export class Breaker {
  readonly #cells: Int32Array;
  readonly #base: number;

  constructor(
    buffer: SharedArrayBuffer,
    /** Date.now() when the Audit was created, the same for every worker. */
    base: number,
    readonly threshold: number,
    readonly cooldownMs: number,
  ) {
    this.#cells = new Int32Array(buffer);
    this.#base = base;
  }

  get state(): BreakerState {
    return Atomics.load(this.#cells, STATE) as BreakerState;
  }

  #now(): number {
    return (Date.now() - this.#base) | 0;
  }

  /** Would allow() let a request through now? (No side effect: a replay checks before reading a segment.) */
  ready(): boolean {
    const state = Atomics.load(this.#cells, STATE);
    if (state === BreakerState.CLOSED) return true;
    return (
      state === BreakerState.OPEN && this.#now() - Atomics.load(this.#cells, OPENED_AT) >= this.cooldownMs
    );
  }

  /** May this worker send a bulk request now? In HALF_OPEN only the one probe may. */
  allow(): boolean {
    const state = Atomics.load(this.#cells, STATE);
    if (state === BreakerState.CLOSED) return true;
    if (state === BreakerState.HALF_OPEN) return false;
    if (this.#now() - Atomics.load(this.#cells, OPENED_AT) < this.cooldownMs) return false;
    return (
      Atomics.compareExchange(this.#cells, STATE, BreakerState.OPEN, BreakerState.HALF_OPEN) ===
      BreakerState.OPEN
    );
  }

  success(): Transition {
    Atomics.store(this.#cells, FAILURES, 0);
    const before = Atomics.exchange(this.#cells, STATE, BreakerState.CLOSED);
    return before === BreakerState.CLOSED ? undefined : 'closed';
  }

  failure(): Transition {
    const failures = Atomics.add(this.#cells, FAILURES, 1) + 1;
    const state = Atomics.load(this.#cells, STATE);
    if (state === BreakerState.HALF_OPEN || (state === BreakerState.CLOSED && failures >= this.threshold)) {
      Atomics.store(this.#cells, OPENED_AT, this.#now());
      if (Atomics.compareExchange(this.#cells, STATE, state, BreakerState.OPEN) === state) return 'opened';
    }
    return undefined;
  }
}
