export { AuditError, type AuditErrorCode, codes, isAuditError } from './errors.js';
export { type BulkAnswer, type BulkDoc, gzipBody, ndjson, postBulk } from './opensearch/bulk.js';
export {
  getLifecyclePolicy,
  type LifecycleOptions,
  lifecyclePolicy,
  policyId,
  putLifecyclePolicy,
} from './opensearch/lifecycle.js';
export { eventMappings, indexTemplate, type TemplateOptions, templateName } from './opensearch/template.js';
