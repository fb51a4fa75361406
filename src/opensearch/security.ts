// The least-privilege writer role, as a payload for the security plugin's
// REST API. A writer with this role can create indices and bulk-index into `${prefix}-*` and read
// cluster health, nothing else; run it with AUDIT_INSTALL_TEMPLATE=false and install the template
// with an admin account. `indices:data/write/bulk` is commonly granted as an index permission,
// but the security plugin (2.19.4, test/integration/tls.test.ts) checks it as a cluster permission and the
// per-shard part, `indices:data/write/bulk[s]`, on the index, so the role has both. Against the
// real plugin each of the four write permissions proved necessary: without any one, a bulk
// answers 403 (whole request or per item).

/**
 * The writer role's payload for `PUT _plugins/_security/api/roles/<name>`.
 *
 * @example
 * writerRole('audit').index_permissions[0].index_patterns; // ['audit-*']
 */
export function writerRole(prefix = 'audit') {
  return {
    cluster_permissions: ['cluster:monitor/health', 'indices:data/write/bulk'],
    index_permissions: [
      {
        index_patterns: [`${prefix}-*`],
        allowed_actions: ['indices:data/write/index', 'indices:data/write/bulk[s]', 'indices:admin/create'],
      },
    ],
  };
}

export function rolePath(name: string): string {
  return `/_plugins/_security/api/roles/${encodeURIComponent(name)}`;
}

export function userPath(name: string): string {
  return `/_plugins/_security/api/internalusers/${encodeURIComponent(name)}`;
}
