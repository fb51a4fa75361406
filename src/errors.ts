// Every error this library throws is an AuditError with a stable code that callers can match on.
// The README lists each code; test/unit/errors.test.ts keeps the two in step.

export const codes = {
  AUDIT_ERR_INVALID_OPTION: 'An option or AUDIT_* environment variable has a wrong value',
  AUDIT_ERR_OPENSEARCH: 'OpenSearch answered an administrative request with an error',
  AUDIT_ERR_ISM_UNAVAILABLE: 'The OpenSearch cluster has no Index State Management plugin',
  AUDIT_ERR_SECURITY_UNAVAILABLE:
    'The OpenSearch cluster has no security plugin, so roles cannot be installed',
  AUDIT_ERR_CLOSE_TIMEOUT: 'close() reached its deadline with events not yet acknowledged or spooled',
  AUDIT_ERR_WORKER_FILE: 'The compiled worker file is missing (run npm run build in a source checkout)',
} as const;

export type AuditErrorCode = keyof typeof codes;

export class AuditError extends Error {
  readonly code: AuditErrorCode;

  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditError';
    this.code = code;
  }
}

export function isAuditError(err: unknown, code?: AuditErrorCode): err is AuditError {
  return err instanceof AuditError && (code === undefined || err.code === code);
}
