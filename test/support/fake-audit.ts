// A stand-in for the Audit the adapters capture into: only the members they use (active,
// isExcluded, config.maxBodySize, capture, countError, dropUncaptured, registry), recording every
// CapturedEvent instead of encoding it into a ring. No workers, no OpenSearch.
import { Registry } from 'prom-client';
import type { Audit } from '../../src/audit.js';
import { compileExcludedPaths } from '../../src/capture/excluded-paths.js';
import type { CapturedEvent } from '../../src/event.js';

export interface FakeAuditOptions {
  active?: boolean;
  excludedPaths?: readonly string[];
  maxBodySize?: number;
}

export interface FakeAudit {
  /** The fake as the adapters' parameter type. */
  audit: Audit;
  /** Events captured, in order. */
  events: CapturedEvent[];
  /** The `startedAt` passed with each event. */
  startedAt: number[];
  /** Reasons passed to countError(), in order. */
  errors: string[];
  /** Reasons passed to dropUncaptured(), in order: events the adapter could not hand over. */
  dropped: string[];
  /** Paths the adapter asked isExcluded() about. */
  asked: string[];
  /** Resolves with the n-th event (1-based) once it has been captured. */
  event(n?: number): Promise<CapturedEvent>;
}

export function fakeAudit(opts: FakeAuditOptions = {}): FakeAudit {
  const { active = true, excludedPaths = [], maxBodySize = 20480 } = opts;
  const events: CapturedEvent[] = [];
  const startedAt: number[] = [];
  const errors: string[] = [];
  const dropped: string[] = [];
  const asked: string[] = [];
  const waiters: Array<{ n: number; resolve: (e: CapturedEvent) => void }> = [];
  const excluded = compileExcludedPaths(excludedPaths);
  const wake = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i] as (typeof waiters)[number];
      const e = events[w.n - 1];
      if (e) {
        waiters.splice(i, 1);
        w.resolve(e);
      }
    }
  };
  const fake = {
    active,
    config: { maxBodySize },
    registry: new Registry(),
    isExcluded(path: string): boolean {
      asked.push(path);
      return excluded(path);
    },
    capture(event: CapturedEvent, at: number): void {
      events.push(event);
      startedAt.push(at);
      wake();
    },
    countError(reason: string): void {
      errors.push(reason);
    },
    dropUncaptured(reason: string): void {
      dropped.push(reason);
    },
  };
  return {
    audit: fake as unknown as Audit,
    events,
    startedAt,
    errors,
    dropped,
    asked,
    event(n = events.length + 1) {
      return new Promise((resolve) => {
        waiters.push({ n, resolve });
        wake();
      });
    },
  };
}
