import { describe, expect, it } from 'vitest';
import { compileSecretPattern } from '../../../src/redact/rules.js';

describe('application patterns', () => {
  it('refuses patterns that do not compile or match the empty string', () => {
    expect(() => compileSecretPattern('([a-z')).toThrow(SyntaxError);
    expect(() => compileSecretPattern('a*')).toThrow(/empty string/);
    expect(compileSecretPattern('/abc/iy').flags).toBe('gi');
  });
});
