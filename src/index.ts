export { Audit, type AuditStats, type CreateAuditOptions, createAudit } from './audit.js';
export type { AuditOverride, Principal } from './capture/request-fields.js';
export {
  type AuditConfig,
  type AuditOptions,
  envVariables,
  type OpenSearchOptions,
} from './config/resolve.js';
export { AuditError, type AuditErrorCode, codes, isAuditError } from './errors.js';
export { BodyKind, type CapturedEvent } from './event.js';
export type { AuditLogger } from './logger.js';
export { type BulkAnswer, type BulkDoc, gzipBody, ndjson, postBulk } from './opensearch/bulk.js';
export { createClient } from './opensearch/client.js';
export {
  getLifecyclePolicy,
  type LifecycleOptions,
  lifecyclePolicy,
  policyId,
  putLifecyclePolicy,
} from './opensearch/lifecycle.js';
export { putWriterRole, writerRole } from './opensearch/security.js';
export { eventMappings, indexTemplate, type TemplateOptions, templateName } from './opensearch/template.js';
export {
  type AuditEventPage,
  AuditReader,
  createReader,
  type EventFilter,
  type ReaderOptions,
  type SearchOptions,
} from './reader/reader.js';
export { readSpool, type SpooledSegment } from './spool/reader.js';
