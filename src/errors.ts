// Every error this library throws is an AuditError with a stable code that callers can match on.
// docs/ERRORS.md is generated from `codes` (npm run docs); test/unit/docs.test.ts keeps it current.

export const codes = {
  AUDIT_ERR_INVALID_OPTION: 'An option or AUDIT_* environment variable has a wrong value',
  AUDIT_ERR_OPENSEARCH: 'OpenSearch answered an administrative request with an error',
  AUDIT_ERR_ISM_UNAVAILABLE: 'The OpenSearch cluster has no Index State Management plugin',
  AUDIT_ERR_SECURITY_UNAVAILABLE:
    'The OpenSearch cluster has no security plugin, so roles cannot be installed',
  AUDIT_ERR_CLOSE_TIMEOUT: 'close() reached its deadline with events not yet acknowledged or spooled',
  AUDIT_ERR_TENANT_MAPPING:
    'An audit index maps organization_id as something other than a keyword, so a reader cannot keep organizations apart',
  AUDIT_ERR_UNAVAILABLE:
    'The audit trail cannot record this request now (AUDIT_FAILURE_MODE=closed, or a durable route whose intent event was not stored in time): it was answered 503 before its handler ran; retry after Retry-After',
  AUDIT_ERR_WORKER_FILE: 'The compiled worker file is missing (run npm run build in a source checkout)',
} as const;

/**
 * The codes of AuditError, each listed with its meaning in docs/ERRORS.md.
 *
 * @example
 * const code: AuditErrorCode = 'AUDIT_ERR_CLOSE_TIMEOUT';
 */
export type AuditErrorCode = keyof typeof codes;

/**
 * Every error this library throws: a stable `code` to match on, a message that names the
 * option, file or server answer at fault, and the underlying `cause` when there is one.
 *
 * @example
 * try {
 *   await createAudit({ batchSize: 0 });
 * } catch (err) {
 *   if (err instanceof AuditError && err.code === 'AUDIT_ERR_INVALID_OPTION') console.error(err.message);
 * }
 */
export class AuditError extends Error {
  readonly code: AuditErrorCode;

  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditError';
    this.code = code;
  }
}

/**
 * True when `err` is an AuditError, and has `code` when one is given.
 *
 * @example
 * await audit.close({ timeoutSeconds: 5 }).catch((err) => {
 *   if (!isAuditError(err, 'AUDIT_ERR_CLOSE_TIMEOUT')) throw err;
 * });
 */
export function isAuditError(err: unknown, code?: AuditErrorCode): err is AuditError {
  return err instanceof AuditError && (code === undefined || err.code === code);
}
