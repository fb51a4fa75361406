// The public API of @pdaas/audit. Framework middleware lives in the subpaths `@pdaas/audit/hono`
// and `@pdaas/audit/express`; the OpenSearch installers and payloads in `@pdaas/audit/opensearch`.
// Everything else under src/ is internal and may change in any release.

export { Audit, type AuditStats, type CreateAuditOptions, createAudit } from './audit.js';
export type { AuditOverride, Principal } from './capture/request-fields.js';
export type { VerifyReport } from './chain/verify.js';
export type { AuditConfig, AuditOptions, OpenSearchOptions } from './config/options.js';
export { AuditError, type AuditErrorCode, isAuditError } from './errors.js';
export { NO_ORGANIZATION } from './event.js';
export type { AuditLogger } from './logger.js';
export {
  type AuditEventPage,
  AuditReader,
  createReader,
  type EventFilter,
  type ReaderOptions,
  type SearchOptions,
} from './reader/reader.js';
export { readSpool, type SpooledSegment } from './spool/reader.js';
