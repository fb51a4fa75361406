import { describe, expect, it } from 'vitest';
import { deriveRouteAction, RouteActionCache, singular } from '../../../src/capture/route-action.js';

describe('route → action and target', () => {
  it.each([
    ['POST', '/policies', 'policies.create', '', 'policies'],
    ['GET', '/policies', 'policies.list', '', 'policies'],
    ['GET', '/policies/:id', 'policies.read', 'id', 'policy:'],
    ['PATCH', '/service-accounts/:id', 'service-accounts.update', 'id', 'service-account:'],
    ['DELETE', '/organizations/:orgId/members/:userId', 'organizations.members.delete', 'userId', 'member:'],
    ['POST', '/organizations/:orgId/members', 'organizations.members.create', 'orgId', 'organization:'],
    ['GET', '/', 'root.list', '', ''],
  ])('%s %s → %s', (method, route, action, param, prefix) => {
    expect(deriveRouteAction(method, route)).toEqual({ action, param, prefix });
  });

  it('singularizes resource names', () => {
    expect(['policies', 'accounts', 'addresses', 'boxes', 'status', 'groups'].map(singular)).toEqual([
      'policy',
      'account',
      'address',
      'box',
      'status',
      'group',
    ]);
  });
});

describe('RouteActionCache', () => {
  it('answers per method and route, the same object each time, and stays bounded', () => {
    const cache = new RouteActionCache();
    const read = cache.get('GET', '/policies/:id');
    expect(read).toEqual(deriveRouteAction('GET', '/policies/:id'));
    expect(cache.get('GET', '/policies/:id')).toBe(read);
    expect(cache.get('DELETE', '/policies/:id')).toEqual(deriveRouteAction('DELETE', '/policies/:id'));
    expect(cache.get('DELETE', '/policies/:id')).not.toEqual(read);
    // A hostile app with endless routes: the cache empties itself instead of growing.
    for (let i = 0; i < 10_000; i++) cache.get('GET', `/r${i}/:id`);
    expect(cache.get('GET', '/policies/:id')).not.toBe(read); // evicted, derived again
    expect(cache.get('GET', '/policies/:id')).toEqual(read);
  });
});
