import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AuditError, codes, isAuditError } from '../../src/errors.js';

describe('coded errors', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('documents every code in the README', () => {
    for (const code of Object.keys(codes)) expect(readme, `README lacks ${code}`).toContain(`\`${code}\``);
  });

  it('documents no code that does not exist', () => {
    const documented = new Set(readme.match(/AUDIT_ERR_[A-Z_]+/g));
    expect([...documented].sort()).toEqual(Object.keys(codes).sort());
  });

  it('carries code, name and cause', () => {
    const cause = new Error('root');
    const err = new AuditError('AUDIT_ERR_OPENSEARCH', 'boom', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AuditError');
    expect(err.code).toBe('AUDIT_ERR_OPENSEARCH');
    expect(err.cause).toBe(cause);
    expect(isAuditError(err, 'AUDIT_ERR_OPENSEARCH')).toBe(true);
    expect(isAuditError(err, 'AUDIT_ERR_INVALID_OPTION')).toBe(false);
    expect(isAuditError(new Error('x'))).toBe(false);
  });
});
