// The verdict of `pdaas-audit health` from its checks.
import { describe, expect, it } from 'vitest';
import { verdictOf } from '../../../src/opensearch/health.js';

describe('verdict', () => {
  it('unhealthy if a check failed, degraded if one warned, else healthy; skipped checks do not count', () => {
    expect(
      verdictOf([
        { name: 'cluster', status: 'ok', detail: 'green' },
        { name: 'policy', status: 'skip', detail: 'no ISM' },
      ]),
    ).toEqual({ verdict: 'healthy', summary: 'healthy' });
    expect(
      verdictOf([
        { name: 'cluster', status: 'warn', detail: 'yellow' },
        { name: 'template', status: 'warn', detail: 'missing' },
      ]).summary,
    ).toBe('degraded: cluster: yellow; template: missing');
    expect(
      verdictOf([
        { name: 'cluster', status: 'warn', detail: 'yellow' },
        { name: 'bulk', status: 'fail', detail: '403' },
      ]).summary,
    ).toBe('unhealthy: bulk: 403');
  });
});
