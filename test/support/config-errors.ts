// Configuration tests expect AUDIT_ERR_INVALID_OPTION and read its message.
import { expect } from 'vitest';
import { type AuditError, isAuditError } from '../../src/errors.js';

/** Runs fn and returns the AuditError it throws (failing the test when it throws nothing else). */
export function invalid(fn: () => unknown): AuditError {
  try {
    fn();
  } catch (err) {
    expect(isAuditError(err, 'AUDIT_ERR_INVALID_OPTION'), String(err)).toBe(true);
    return err as AuditError;
  }
  throw new Error('expected AUDIT_ERR_INVALID_OPTION, nothing was thrown');
}
