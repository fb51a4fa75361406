import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve.js';
import { createClient, warnIfInsecure } from '../../../src/opensearch/client.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function os(env: Record<string, string>) {
  return resolveConfig({}, { AUDIT_OPENSEARCH_HOST: 'opensearch.prod.internal', ...env }).opensearch;
}

describe('connection security', () => {
  it('verifies certificates by default', () => {
    const cfg = os({ AUDIT_OPENSEARCH_USE_SSL: 'true' });
    expect(cfg.verifyCerts).toBe(true);
    expect(cfg.url).toBe('https://opensearch.prod.internal:9200');
  });

  it('warns with a code when production turns verification off, and only then', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    warnIfInsecure(
      os({ AUDIT_OPENSEARCH_USE_SSL: 'true', AUDIT_OPENSEARCH_VERIFY_CERTS: 'false' }),
      'production',
    );
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: 'AUDIT_WARN_TLS_UNVERIFIED' });
    warnIfInsecure(
      os({ AUDIT_OPENSEARCH_USE_SSL: 'true', AUDIT_OPENSEARCH_VERIFY_CERTS: 'false' }),
      'development',
    );
    warnIfInsecure(os({ AUDIT_OPENSEARCH_USE_SSL: 'true' }), 'production');
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('keeps credentials out of the node URL', () => {
    const cfg = os({ AUDIT_OPENSEARCH_USERNAME: 'audit_writer', AUDIT_OPENSEARCH_PASSWORD: 'pw-Zq81' });
    expect(cfg.url).not.toContain('pw-Zq81');
    const client = createClient(cfg);
    expect(JSON.stringify(client.connectionPool.connections.map((c) => c.url.href))).not.toContain('pw-Zq81');
  });
});
