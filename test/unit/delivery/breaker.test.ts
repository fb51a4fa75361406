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
