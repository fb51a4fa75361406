// `@pdaas/audit/opensearch`: what an operator or a deployment pipeline needs to prepare a cluster
// for the audit trail, the same functions `pdaas-audit setup` and `health` run. Every installer is
// idempotent: it reads what is installed, writes only what differs, and says what it did.

export { connect } from './client.js';
export { checkHealth, type HealthOptions, type HealthReport } from './health.js';
export { type LifecycleOptions, lifecyclePolicy, policyId } from './lifecycle.js';
export { writerRole } from './security.js';
export { type ItemResult, type SyncOptions, syncPolicy, syncRole, syncTemplate } from './setup.js';
export { eventMappings, indexTemplate, type TemplateOptions, templateName } from './template.js';
