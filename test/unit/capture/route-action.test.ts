import { describe, expect, it } from 'vitest';
import { deriveRouteAction, singular } from '../../../src/capture/route-action.js';

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
