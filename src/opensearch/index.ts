// `@pdaas/audit/opensearch`: what an operator or a deployment pipeline needs to prepare a cluster
// for the audit trail, the same functions `pdaas-audit setup` and `health` run. Every installer is
// idempotent: it reads what is installed, writes only what differs, and says what it did.

export { connect } from './client.js';
export {
  type Check,
  type CheckName,
  type CheckStatus,
  checkHealth,
  type HealthOptions,
  type HealthReport,
  type Verdict,
} from './health.js';
export { type LifecycleOptions, lifecyclePolicy, policyId } from './lifecycle.js';
export { writerRole } from './security.js';
export {
  type ItemKind,
  type ItemResult,
  type ItemState,
  type SyncOptions,
  syncPolicy,
  syncRole,
  syncTemplate,
  syncUser,
} from './setup.js';
export { eventMappings, indexTemplate, type TemplateOptions, templateName } from './template.js';
