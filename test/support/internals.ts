// The built package's types leave out the Audit's @internal methods (stripInternal); tests and
// benchmarks that drive them (a worker terminated mid-batch, capture() in a tight loop, the
// breaker's state) see the same object through the source's type.
import type { Audit } from '@pdaas/audit';
import type { Audit as AuditInternals } from '../../src/audit.js';

export function internals(audit: Audit): AuditInternals {
  return audit as unknown as AuditInternals;
}
