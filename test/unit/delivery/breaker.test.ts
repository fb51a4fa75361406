import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Breaker, BreakerState, createBreakerBuffer } from '../../../src/delivery/breaker.js';

const THRESHOLD = 3;
const COOLDOWN = 50;

function make(buffer = createBreakerBuffer(), base = Date.now()): Breaker {
  return new Breaker(buffer, base, THRESHOLD, COOLDOWN);
}

/** Opens a CLOSED breaker with `threshold` failures. */
function open(b: Breaker): void {
  for (let i = 1; i < b.threshold; i++) expect(b.failure()).toBeUndefined();
  expect(b.failure()).toBe('opened');
  expect(b.state).toBe(BreakerState.OPEN);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-11-27T10:00:00.000Z'));
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Breaker', () => {
  it('starts CLOSED, allows and is ready', () => {
    const b = make();
    expect(b.state).toBe(BreakerState.CLOSED);
    expect(b.ready()).toBe(true);
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(true);
    expect(b.success()).toBeUndefined();
  });

  it('stays CLOSED below the threshold and opens exactly at it, reporting it once', () => {
    const b = make();
    for (let i = 1; i < THRESHOLD; i++) {
      expect(b.failure()).toBeUndefined();
      expect(b.state).toBe(BreakerState.CLOSED);
      expect(b.allow()).toBe(true);
    }
    expect(b.failure()).toBe('opened');
    expect(b.state).toBe(BreakerState.OPEN);
    // Further failures while OPEN are not transitions.
    expect(b.failure()).toBeUndefined();
    expect(b.failure()).toBeUndefined();
    expect(b.state).toBe(BreakerState.OPEN);
  });

  it('a success resets the consecutive-failure count', () => {
    const b = make();
    for (let round = 0; round < 5; round++) {
      for (let i = 1; i < THRESHOLD; i++) expect(b.failure()).toBeUndefined();
      expect(b.success()).toBeUndefined();
      expect(b.state).toBe(BreakerState.CLOSED);
    }
    open(b);
  });

  it('threshold 1 opens on the first failure', () => {
    const b = new Breaker(createBreakerBuffer(), Date.now(), 1, COOLDOWN);
    expect(b.failure()).toBe('opened');
    expect(b.state).toBe(BreakerState.OPEN);
  });

  it('OPEN refuses requests and is not ready until the cooldown has passed', () => {
    const b = make();
    open(b);
    expect(b.ready()).toBe(false);
    expect(b.allow()).toBe(false);
    vi.advanceTimersByTime(COOLDOWN - 1);
    expect(b.ready()).toBe(false);
    expect(b.allow()).toBe(false);
    expect(b.state).toBe(BreakerState.OPEN);
    vi.advanceTimersByTime(1);
    expect(b.ready()).toBe(true);
    // ready() has no side effect.
    expect(b.ready()).toBe(true);
    expect(b.state).toBe(BreakerState.OPEN);
  });

  it('after the cooldown lets exactly one probe through (HALF_OPEN)', () => {
    const b = make();
    open(b);
    vi.advanceTimersByTime(COOLDOWN);
    const answers = Array.from({ length: 5 }, () => b.allow());
    expect(answers).toEqual([true, false, false, false, false]);
    expect(b.state).toBe(BreakerState.HALF_OPEN);
    expect(b.ready()).toBe(false);
    vi.advanceTimersByTime(10 * COOLDOWN);
    expect(b.allow()).toBe(false);
    expect(b.ready()).toBe(false);
  });

  it('a failed probe reopens the breaker and restarts the cooldown', () => {
    const b = make();
    open(b);
    vi.advanceTimersByTime(COOLDOWN + 500);
    expect(b.allow()).toBe(true);
    expect(b.failure()).toBe('opened');
    expect(b.state).toBe(BreakerState.OPEN);
    expect(b.ready()).toBe(false);
    expect(b.allow()).toBe(false);
    vi.advanceTimersByTime(COOLDOWN - 1);
    expect(b.ready()).toBe(false);
    expect(b.allow()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(b.ready()).toBe(true);
    expect(b.allow()).toBe(true);
    expect(b.state).toBe(BreakerState.HALF_OPEN);
  });

  it('a successful probe closes the breaker and resets the failure count', () => {
    const b = make();
    open(b);
    vi.advanceTimersByTime(COOLDOWN);
    expect(b.allow()).toBe(true);
    expect(b.success()).toBe('closed');
    expect(b.state).toBe(BreakerState.CLOSED);
    expect(b.allow()).toBe(true);
    expect(b.ready()).toBe(true);
    expect(b.success()).toBeUndefined();
    // A fresh count: it takes `threshold` failures again to open.
    open(b);
  });

  it('works with a base far in the past (ms since creation)', () => {
    const b = make(createBreakerBuffer(), Date.now() - 3 * 86_400_000);
    open(b);
    expect(b.allow()).toBe(false);
    vi.advanceTimersByTime(COOLDOWN);
    expect(b.allow()).toBe(true);
  });

  it('two Breakers over one SharedArrayBuffer share state', () => {
    const buffer = createBreakerBuffer();
    const base = Date.now();
    const a = make(buffer, base);
    const b = make(buffer, base);
    // Failures add up across the two.
    expect(a.failure()).toBeUndefined();
    expect(b.failure()).toBeUndefined();
    expect(a.failure()).toBe('opened');
    expect(b.state).toBe(BreakerState.OPEN);
    expect(b.allow()).toBe(false);
    expect(b.ready()).toBe(false);
    vi.advanceTimersByTime(COOLDOWN);
    expect(a.ready()).toBe(true);
    expect(b.ready()).toBe(true);
    // Only one of them wins the probe.
    expect(b.allow()).toBe(true);
    expect(a.allow()).toBe(false);
    expect(a.state).toBe(BreakerState.HALF_OPEN);
    expect(b.success()).toBe('closed');
    expect(a.state).toBe(BreakerState.CLOSED);
    expect(a.allow()).toBe(true);
    // A success on one resets the count the other sees.
    expect(a.failure()).toBeUndefined();
    expect(a.failure()).toBeUndefined();
    expect(b.success()).toBeUndefined();
    expect(a.failure()).toBeUndefined();
    expect(a.state).toBe(BreakerState.CLOSED);
  });

  it('several workers over one buffer: exactly one wins the probe, and its failure reopens for all', () => {
    const buffer = createBreakerBuffer();
    const base = Date.now();
    const workers = Array.from({ length: 4 }, () => make(buffer, base));
    open(workers[0] as Breaker);
    vi.advanceTimersByTime(COOLDOWN);
    const winners = workers.filter((w) => w.allow());
    expect(winners).toHaveLength(1);
    expect((workers[3] as Breaker).failure()).toBe('opened');
    for (const w of workers) expect(w.state).toBe(BreakerState.OPEN);
  });
});

const REQUEST_TIMEOUT = 100;
/** max(COOLDOWN, 3 × REQUEST_TIMEOUT): see PROBE_TIMEOUT_REQUESTS in breaker.ts. */
const PROBE_TIMEOUT = 300;
const WRAP = 2 ** 31; // ms after `base` where the old `(Date.now() - base) | 0` turned negative
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * A clock to inject. Moving it moves the faked Date along, so that anything still reading
 * Date.now() sees the same time (and a breaker that ignored `now` would fail for its own reasons).
 */
function clock(start = Date.now()) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number): void {
      t += ms;
      vi.setSystemTime(t);
    },
  };
}

type Clock = ReturnType<typeof clock>;

function worker(
  buffer: SharedArrayBuffer,
  base: number,
  c: Clock,
  cooldown = COOLDOWN,
  requestTimeoutMs = REQUEST_TIMEOUT,
): Breaker {
  return new Breaker(buffer, base, THRESHOLD, cooldown, { now: c.now, requestTimeoutMs });
}

/** `n` workers over one buffer, as the drain workers share it. */
function workers(n: number, c: Clock, base = c.now()): Breaker[] {
  const buffer = createBreakerBuffer();
  return Array.from({ length: n }, () => worker(buffer, base, c));
}

/** A small seeded PRNG (mulberry32): the simulation is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Breaker clock (issue #12: open forever after the Int32 wrap)', () => {
  it('keeps the state at Int32 index 0, where the main thread reads it', () => {
    const c = clock();
    const buffer = createBreakerBuffer();
    const b = worker(buffer, c.now(), c);
    const seen = () => Atomics.load(new Int32Array(buffer), 0);
    expect(seen()).toBe(BreakerState.CLOSED);
    open(b);
    expect(seen()).toBe(BreakerState.OPEN);
    c.advance(COOLDOWN);
    expect(b.allow()).toBe(true);
    expect(seen()).toBe(BreakerState.HALF_OPEN);
    expect(b.success()).toBe('closed');
    expect(seen()).toBe(BreakerState.CLOSED);
  });

  it('reads the injected clock, not Date.now()', () => {
    let t = 1_000;
    const b = new Breaker(createBreakerBuffer(), 0, THRESHOLD, COOLDOWN, { now: () => t });
    open(b);
    vi.advanceTimersByTime(10 * COOLDOWN); // Date moves; the injected clock does not
    expect(b.ready()).toBe(false);
    expect(b.allow()).toBe(false);
    t += COOLDOWN - 1;
    expect(b.allow()).toBe(false);
    t += 1;
    expect(b.ready()).toBe(true);
    expect(b.allow()).toBe(true);
  });

  it('opened within the last cooldown before 2^31 ms after base, it still probes after the cooldown', () => {
    const c = clock();
    const base = c.now();
    const [a, b] = workers(2, c) as [Breaker, Breaker];
    c.advance(WRAP - COOLDOWN / 2);
    open(a);
    c.advance(COOLDOWN - 1);
    expect(b.ready()).toBe(false);
    expect(b.allow()).toBe(false);
    c.advance(1);
    expect(c.now() - base).toBeGreaterThan(WRAP);
    expect(b.ready()).toBe(true);
    expect(b.allow()).toBe(true);
    expect(a.allow()).toBe(false);
    expect(b.failure()).toBe('opened');
    c.advance(COOLDOWN);
    expect(a.allow()).toBe(true);
    expect(a.success()).toBe('closed');
  });

  it.each([
    ['2^32 ms', 2 ** 32],
    ['100 days', 100 * DAY],
    ['10 years', 3653 * DAY],
  ])('opens and closes normally %s after base', (_, elapsed) => {
    const c = clock();
    const [a, b] = workers(2, c) as [Breaker, Breaker];
    c.advance(elapsed - 1);
    open(a);
    c.advance(COOLDOWN - 1);
    expect(a.allow()).toBe(false);
    c.advance(1);
    expect([a.allow(), b.allow(), a.allow()]).toEqual([true, false, false]);
    expect(a.success()).toBe('closed');
  });

  it('60 simulated days of open → cooldown → probe cycles: after every wait exactly one probe', () => {
    const cooldown = 30_000;
    const requestTimeout = 20_000;
    const bound = Math.max(cooldown, 3 * requestTimeout);
    const rand = prng(12);
    const c = clock();
    const base = c.now();
    const buffer = createBreakerBuffer();
    const ws = Array.from({ length: 3 }, () => worker(buffer, base, c, cooldown, requestTimeout));
    const any = () => ws[Math.floor(rand() * ws.length)] as Breaker;
    const tally = { cycles: 0, probes: 0, failed: 0, died: 0, straddled: false };

    /** Waits `wait` ms; no worker may send before it ends, then exactly one (asked in random order). */
    const probe = (wait: number): Breaker => {
      c.advance(wait - 1);
      for (const w of ws) {
        expect(w.ready()).toBe(false);
        expect(w.allow()).toBe(false);
      }
      c.advance(1);
      const first = Math.floor(rand() * ws.length);
      const order = ws.map((_, i) => ws[(first + i) % ws.length] as Breaker);
      expect(order.every((w) => w.ready())).toBe(true);
      const winners = order.filter((w) => w.allow());
      expect(winners).toHaveLength(1);
      for (const w of ws) {
        expect(w.allow()).toBe(false);
        expect(w.ready()).toBe(false);
        expect(w.state).toBe(BreakerState.HALF_OPEN);
      }
      tally.probes++;
      return winners[0] as Breaker;
    };

    while (c.now() - base < 60 * DAY) {
      // CLOSED for hours, now and then for days.
      let step = Math.floor(rand() < 0.2 ? rand() * 3 * DAY : rand() * 12 * HOUR) + 1;
      const at = c.now() - base;
      if (!tally.straddled && at + step >= WRAP - cooldown) {
        // Open once within the last cooldown before the old wrap: the probe comes after it.
        step = WRAP - cooldown / 2 - at;
        tally.straddled = true;
      }
      c.advance(step);
      for (const w of ws) expect(w.allow()).toBe(true);
      for (let i = 1; i < THRESHOLD; i++) expect(any().failure()).toBeUndefined();
      expect(any().failure()).toBe('opened');
      tally.cycles++;
      let prober = probe(cooldown);
      for (;;) {
        const r = rand();
        if (r < 0.5) {
          expect(prober.success()).toBe('closed');
          for (const w of ws) expect(w.state).toBe(BreakerState.CLOSED);
          break;
        }
        if (r < 0.8) {
          expect(prober.failure()).toBe('opened');
          tally.failed++;
          prober = probe(cooldown);
        } else {
          // The probing worker dies, or its delivery throws: it never reports.
          tally.died++;
          prober = probe(bound);
        }
      }
    }
    expect(tally.straddled).toBe(true);
    expect(tally.cycles).toBeGreaterThan(100);
    expect(tally.failed).toBeGreaterThan(20);
    expect(tally.died).toBeGreaterThan(20);
  });
});

describe('Breaker probe timeout (issue #12: HALF_OPEN has no timeout)', () => {
  it('bounds a probe by max(cooldown, 3 × request timeout)', () => {
    const c = clock();
    expect(worker(createBreakerBuffer(), c.now(), c).probeTimeoutMs).toBe(PROBE_TIMEOUT);
    expect(worker(createBreakerBuffer(), c.now(), c, 10_000, 100).probeTimeoutMs).toBe(10_000);
    // Without a request timeout: AUDIT_OPENSEARCH_TIMEOUT's default, 30 s.
    expect(make().probeTimeoutMs).toBe(90_000);
  });

  it('a probe that never reports is taken over after the bound by exactly one worker', () => {
    const c = clock();
    const [a, b] = workers(2, c) as [Breaker, Breaker];
    open(a);
    c.advance(COOLDOWN);
    expect(a.allow()).toBe(true); // A probes, then dies: no success(), no failure()
    c.advance(PROBE_TIMEOUT - 1);
    expect(b.ready()).toBe(false);
    expect(b.allow()).toBe(false);
    expect(a.allow()).toBe(false);
    expect(b.state).toBe(BreakerState.HALF_OPEN);
    c.advance(1);
    expect(b.ready()).toBe(true);
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false);
    expect(a.allow()).toBe(false);
    expect(b.ready()).toBe(false);
    expect(b.state).toBe(BreakerState.HALF_OPEN);
    expect(b.success()).toBe('closed');
    expect(a.allow()).toBe(true);
  });

  it('the bound restarts with each takeover', () => {
    const c = clock();
    const [a, b] = workers(2, c) as [Breaker, Breaker];
    open(a);
    c.advance(COOLDOWN);
    expect(a.allow()).toBe(true);
    c.advance(PROBE_TIMEOUT);
    expect(b.allow()).toBe(true); // B takes over, and dies too
    c.advance(PROBE_TIMEOUT - 1);
    expect(a.allow()).toBe(false);
    expect(b.allow()).toBe(false);
    c.advance(1);
    expect([a.allow(), b.allow(), a.allow()]).toEqual([true, false, false]);
    expect(a.failure()).toBe('opened');
    c.advance(COOLDOWN);
    expect([b.allow(), a.allow()]).toEqual([true, false]);
  });

  it('a worker whose delivery threw takes its own probe over after the bound', () => {
    const c = clock();
    const b = worker(createBreakerBuffer(), c.now(), c);
    open(b);
    c.advance(COOLDOWN);
    expect(b.allow()).toBe(true);
    c.advance(PROBE_TIMEOUT - 1);
    expect(b.allow()).toBe(false);
    c.advance(1);
    expect([b.allow(), b.allow()]).toEqual([true, false]);
    expect(b.success()).toBe('closed');
  });

  it('several workers at the bound: exactly one takes the probe over', () => {
    const c = clock();
    const ws = workers(5, c);
    open(ws[0] as Breaker);
    c.advance(COOLDOWN);
    expect(ws.filter((w) => w.allow())).toHaveLength(1);
    c.advance(PROBE_TIMEOUT);
    expect(ws.filter((w) => w.ready())).toHaveLength(5);
    expect(ws.filter((w) => w.allow())).toHaveLength(1);
    expect(ws.filter((w) => w.allow())).toHaveLength(0);
  });

  // A late report is a report like any other: a success closes (a bulk request went through, which
  // is all a probe asks), a failure re-opens a HALF_OPEN breaker and restarts the cooldown, and once
  // the breaker is OPEN a failure only counts. The new probe's own report then follows the same rules.
  it("a late success from the superseded probe closes; the new probe's report changes nothing", () => {
    const c = clock();
    const [a, b] = workers(2, c) as [Breaker, Breaker];
    open(a);
    c.advance(COOLDOWN);
    expect(a.allow()).toBe(true);
    c.advance(PROBE_TIMEOUT);
    expect(b.allow()).toBe(true);
    expect(a.success()).toBe('closed');
    expect(b.state).toBe(BreakerState.CLOSED);
    expect(b.success()).toBeUndefined();
    expect(b.state).toBe(BreakerState.CLOSED);
    // Had B failed instead, that is one failure of a CLOSED breaker: the count starts from zero.
    expect(b.failure()).toBeUndefined();
    expect(a.state).toBe(BreakerState.CLOSED);
    expect(a.failure()).toBeUndefined();
    expect(a.failure()).toBe('opened');
  });

  it('a late failure from the superseded probe re-opens; the new probe then cannot move the cooldown', () => {
    const c = clock();
    const [a, b] = workers(2, c) as [Breaker, Breaker];
    open(a);
    c.advance(COOLDOWN);
    expect(a.allow()).toBe(true);
    c.advance(PROBE_TIMEOUT);
    expect(b.allow()).toBe(true);
    expect(a.failure()).toBe('opened');
    expect(b.state).toBe(BreakerState.OPEN);
    c.advance(COOLDOWN / 2);
    expect(b.failure()).toBeUndefined(); // OPEN: counted, no transition, cooldown unchanged
    expect(b.state).toBe(BreakerState.OPEN);
    c.advance(COOLDOWN / 2 - 1);
    expect(a.allow()).toBe(false);
    expect(b.allow()).toBe(false);
    c.advance(1);
    expect([b.allow(), a.allow(), b.allow()]).toEqual([true, false, false]);
    expect(b.success()).toBe('closed');
  });

  it('a late failure, then the new probe succeeds: closed', () => {
    const c = clock();
    const [a, b] = workers(2, c) as [Breaker, Breaker];
    open(a);
    c.advance(COOLDOWN);
    expect(a.allow()).toBe(true);
    c.advance(PROBE_TIMEOUT);
    expect(b.allow()).toBe(true);
    expect(a.failure()).toBe('opened');
    expect(b.success()).toBe('closed');
    expect([a.allow(), b.allow()]).toEqual([true, true]);
    // The failure count was reset: it takes `threshold` failures to open again.
    open(a);
  });
});
