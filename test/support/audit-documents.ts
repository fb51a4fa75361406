// Audit documents numbered n, as the spool tests write and read them: daily indices, routing on
// every other one, a small source with `extra` merged in.
import type { AuditDocument } from '../../src/worker/document.js';

export function doc(n: number, extra: Record<string, unknown> = {}): AuditDocument {
  return {
    index: `audit-api-2026-11-${String((n % 28) + 1).padStart(2, '0')}`,
    id: `0190f6c2-0000-7abc-8def-${String(n).padStart(12, '0')}`,
    routing: n % 2 === 0 ? `org-${n}` : undefined,
    source: { seq: n, path: `/v1/things/${n}`, ...extra },
  };
}

/** Documents from..from+count-1. */
export const docs = (from: number, count: number) => Array.from({ length: count }, (_, i) => doc(from + i));
