// The circuit breaker all workers share, kept in a small SharedArrayBuffer so that one worker's
// failures open it for every worker. CLOSED → OPEN after AUDIT_BREAKER_FAILURES consecutive failed
// bulk requests; OPEN for AUDIT_BREAKER_COOLDOWN_SECONDS; then HALF_OPEN lets exactly one probe
// through (the worker that wins the compare-and-swap); its success closes the breaker, its failure
// opens it again. A probe that reports neither within probeTimeoutMs (its worker died, or its
// delivery threw) is taken over by the next worker that asks, again by compare-and-swap.
//
// Layout: Int32 slots STATE (0: the main thread reads it there, see Audit.breakerState()) and
// FAILURES (1), then one BigInt64 slot, GATE (bytes 8–15): the time, in ms since `base`, before
// which no probe may start. Opening sets it to now + cooldown; taking the probe sets it to
// now + probeTimeoutMs. 64 bits never wrap (an Int32 of ms did, 24.86 days after start, and could
// leave the breaker open for good), and keeping one deadline for both waits lets a single CAS on
// it decide which worker probes, whether the breaker was OPEN or its probe went silent.
//
// A report that arrives late (from a probe that was taken over, or from a request sent while the
// breaker was still CLOSED) is a report like any other: a success closes the breaker (a bulk
// request went through, which is all a probe asks); a failure re-opens a HALF_OPEN breaker and
// restarts the cooldown; once the breaker is OPEN a failure is only counted.

export const BreakerState = { CLOSED: 0, OPEN: 1, HALF_OPEN: 2 } as const;
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState];

/** Int32 slots. */
const STATE = 0;
const FAILURES = 1;
/** BigInt64 slot (bytes 8–15): no probe before this time, in ms since `base`. */
const GATE = 1;
const BYTES = 16;

/**
 * A probe is given this many request timeouts to report: after allow() a live probe sends at most
 * a template GET and PUT for a new index and then the bulk itself, each bounded by the request
 * timeout (the client does not retry: createClient sets maxRetries 0). A probe silent for longer is
 * dead. The bound is never below the cooldown, so a dead probe costs no more requests than a failed
 * one. A batch that brings several new indexes can outlast it; then a second probe overlaps the
 * first: two requests instead of one, never a breaker that stays HALF_OPEN.
 */
const PROBE_TIMEOUT_REQUESTS = 3;
/** AUDIT_OPENSEARCH_TIMEOUT's default, for a breaker that is not told the request timeout. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export function createBreakerBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(BYTES);
}

export type Transition = 'opened' | 'closed' | undefined;

export interface BreakerOptions {
  /** The clock, in ms (Date.now() by default); every Breaker over one buffer must use the same. */
  now?: () => number;
  /** The OpenSearch request timeout (AUDIT_OPENSEARCH_TIMEOUT), ms: it bounds a probe. */
  requestTimeoutMs?: number;
}

export class Breaker {
  readonly #cells: Int32Array;
  readonly #gate: BigInt64Array;
  readonly #base: number;
  readonly #clock: () => number;
  /** How long a probe may stay silent before another worker takes it over, ms. */
  readonly probeTimeoutMs: number;

  constructor(
    buffer: SharedArrayBuffer,
    /** now() when the Audit was created, the same for every worker. */
    base: number,
    readonly threshold: number,
    readonly cooldownMs: number,
    options: BreakerOptions = {},
  ) {
    this.#cells = new Int32Array(buffer, 0, 2);
    this.#gate = new BigInt64Array(buffer, 0, 2);
    this.#base = base;
    this.#clock = options.now ?? (() => Date.now());
    this.probeTimeoutMs = Math.max(
      cooldownMs,
      PROBE_TIMEOUT_REQUESTS * (options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    );
  }

  get state(): BreakerState {
    return Atomics.load(this.#cells, STATE) as BreakerState;
  }

  /** ms since base, whole. */
  #now(): number {
    return Math.floor(this.#clock() - this.#base);
  }

  #deadline(now: number, ms: number): bigint {
    return BigInt(now + Math.ceil(ms));
  }

  /** Would allow() let a request through now? (No side effect: a replay checks before reading a segment.) */
  ready(): boolean {
    if (Atomics.load(this.#cells, STATE) === BreakerState.CLOSED) return true;
    return this.#now() >= Number(Atomics.load(this.#gate, GATE));
  }

  /**
   * May this worker send a bulk request now? In HALF_OPEN only the one probe may, until it has been
   * silent for probeTimeoutMs; then the next worker to ask takes the probe over.
   */
  allow(): boolean {
    if (Atomics.load(this.#cells, STATE) === BreakerState.CLOSED) return true;
    const gate = Atomics.load(this.#gate, GATE);
    const now = this.#now();
    if (now < Number(gate)) return false;
    // The one worker whose CAS moves the gate probes; the others see the new gate and wait.
    const next = this.#deadline(now, this.probeTimeoutMs);
    if (Atomics.compareExchange(this.#gate, GATE, gate, next) !== gate) return false;
    // OPEN → HALF_OPEN (already HALF_OPEN after a takeover; CLOSED if a success came meanwhile).
    Atomics.compareExchange(this.#cells, STATE, BreakerState.OPEN, BreakerState.HALF_OPEN);
    return true;
  }

  success(): Transition {
    Atomics.store(this.#cells, FAILURES, 0);
    const before = Atomics.exchange(this.#cells, STATE, BreakerState.CLOSED);
    return before === BreakerState.CLOSED ? undefined : 'closed';
  }

  failure(): Transition {
    const failures = Atomics.add(this.#cells, FAILURES, 1) + 1;
    // The gate is read first and moved by CAS: if it moved since, another worker opened the
    // breaker or took the probe over meanwhile, and that decides (no late write can undo it).
    const gate = Atomics.load(this.#gate, GATE);
    const state = Atomics.load(this.#cells, STATE);
    if (state === BreakerState.OPEN || (state === BreakerState.CLOSED && failures < this.threshold))
      return undefined;
    // The gate moves before the state, so a worker that sees OPEN never sees an old gate.
    const next = this.#deadline(this.#now(), this.cooldownMs);
    if (Atomics.compareExchange(this.#gate, GATE, gate, next) !== gate) return undefined;
    if (Atomics.compareExchange(this.#cells, STATE, state, BreakerState.OPEN) === state) return 'opened';
    return undefined;
  }
}
