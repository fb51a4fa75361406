import { describe, expect, it } from 'vitest';
import { compileExcludedPaths } from '../../../src/capture/excluded-paths.js';
import { isAuditError } from '../../../src/errors.js';

const platformPaths = [
  '/health',
  '/healthz',
  '/metrics',
  '/authentication/login',
  '/policies',
  '/policies/p1',
  '/organizations/o1',
  '/accounts',
  '/accounts/a1',
  '/memberships/m1',
  '/groups/g1/members',
  '/service-accounts/s1',
];

const excluded = (list: string, paths = platformPaths) => {
  const isExcluded = compileExcludedPaths(list.split(','));
  return paths.filter((p) => isExcluded(p));
};

describe('the deployment guide rollout lists', () => {
  it('canary: audits only /authentication/*, /policies/*, /organizations/* (and /healthz, not listed)', () => {
    expect(excluded('/health,/metrics,/accounts/*,/memberships/*,/groups/*,/service-accounts/*')).toEqual([
      '/health',
      '/metrics',
      '/accounts',
      '/accounts/a1',
      '/memberships/m1',
      '/groups/g1/members',
      '/service-accounts/s1',
    ]);
  });

  it('25%: audits groups and service accounts too', () => {
    expect(excluded('/health,/metrics,/accounts/*,/memberships/*')).toEqual([
      '/health',
      '/metrics',
      '/accounts',
      '/accounts/a1',
      '/memberships/m1',
    ]);
  });

  it('50%: audits memberships too', () => {
    expect(excluded('/health,/metrics,/accounts/*')).toEqual([
      '/health',
      '/metrics',
      '/accounts',
      '/accounts/a1',
    ]);
  });

  it('100%: audits everything but health and metrics', () => {
    expect(excluded('/health,/healthz,/metrics')).toEqual(['/health', '/healthz', '/metrics']);
  });

  it('rollback: /* excludes everything', () => {
    expect(excluded('/*')).toEqual(platformPaths);
    expect(compileExcludedPaths(['/*'])('/')).toBe(true);
  });
});

describe('glob semantics', () => {
  it('matches a pattern without * exactly', () => {
    const isExcluded = compileExcludedPaths(['/health', '/']);
    expect(isExcluded('/health')).toBe(true);
    expect(isExcluded('/healthz')).toBe(false);
    expect(isExcluded('/health/live')).toBe(false);
    expect(isExcluded('/')).toBe(true);
    expect(isExcluded('/x')).toBe(false);
  });

  it('matches a trailing /* also on the bare prefix, never on a longer name', () => {
    const isExcluded = compileExcludedPaths(['/accounts/*']);
    for (const p of ['/accounts', '/accounts/', '/accounts/1', '/accounts/1/keys'])
      expect(isExcluded(p), p).toBe(true);
    for (const p of ['/accountsx', '/account', '/service-accounts/1', '/x/accounts/1']) {
      expect(isExcluded(p), p).toBe(false);
    }
  });

  it('ignores one trailing slash on the request path', () => {
    const isExcluded = compileExcludedPaths(['/health', '/docs/']);
    expect(isExcluded('/health/')).toBe(true);
    expect(isExcluded('/docs')).toBe(true);
    expect(isExcluded('/docs/')).toBe(true);
  });

  it('lets * match any run of characters, slashes included', () => {
    const isExcluded = compileExcludedPaths(['/orgs/*/members', '/static/*.js', '/a*b*c']);
    expect(isExcluded('/orgs/o1/members')).toBe(true);
    expect(isExcluded('/orgs/o1/teams/t1/members')).toBe(true);
    expect(isExcluded('/orgs/o1/members/')).toBe(true);
    expect(isExcluded('/orgs/members')).toBe(false);
    expect(isExcluded('/orgs/o1/members/m1')).toBe(false);
    expect(isExcluded('/static/app.js')).toBe(true);
    expect(isExcluded('/static/js/app.js')).toBe(true);
    expect(isExcluded('/static/app.css')).toBe(false);
    expect(isExcluded('/abc')).toBe(true);
    expect(isExcluded('/axxbyyc')).toBe(true);
    expect(isExcluded('/acb')).toBe(false);
    expect(isExcluded('/ab')).toBe(false); // parts may not overlap
  });

  it('matches a nested /* on its bare prefix too', () => {
    const isExcluded = compileExcludedPaths(['/orgs/*/keys/*']);
    expect(isExcluded('/orgs/o1/keys')).toBe(true);
    expect(isExcluded('/orgs/o1/keys/k1')).toBe(true);
    expect(isExcluded('/orgs/o1/keysx')).toBe(false);
  });

  it('matches nothing for an empty list', () => {
    const isExcluded = compileExcludedPaths([]);
    expect(platformPaths.concat('/').filter((p) => isExcluded(p))).toEqual([]);
  });

  it('refuses a pattern that does not start with /', () => {
    let caught: unknown;
    try {
      compileExcludedPaths(['/health', 'metrics']);
    } catch (err) {
      caught = err;
    }
    expect(isAuditError(caught, 'AUDIT_ERR_INVALID_OPTION')).toBe(true);
    expect((caught as Error).message).toBe('excluded path must start with "/", got "metrics"');
  });
});
