// ensureTemplate (the workers' and the re-drive's check before the first write to an index) leaves
// an installed template alone, and says once, with both values and the way out, when its shard or
// replica counts differ from this service's. The real node: test/integration/template-settings.test.ts.
import type { Client } from '@opensearch-project/opensearch';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ensureTemplate } from '../../../src/opensearch/setup.js';
import { indexTemplate, templateSettingsMismatch } from '../../../src/opensearch/template.js';

/** As OpenSearch answers GET _index_template: settings as strings under `index`. */
function installed(shards: number | undefined, replicas: number | undefined) {
  const index: Record<string, string> = { refresh_interval: '30s' };
  if (shards !== undefined) index.number_of_shards = String(shards);
  if (replicas !== undefined) index.number_of_replicas = String(replicas);
  return { index_patterns: ['svc-*'], template: { settings: { index } } };
}

/** A cluster holding one template; records every request. */
function clusterWith(template: unknown) {
  const calls: string[] = [];
  const client = {
    transport: {
      request: async ({ method, path }: { method: string; path: string }) => {
        calls.push(`${method} ${path}`);
        return { statusCode: 200, body: { index_templates: [{ name: 'x', index_template: template }] } };
      },
    },
  } as unknown as Client;
  return { client, calls };
}

afterEach(() => vi.restoreAllMocks());

describe('templateSettingsMismatch', () => {
  it('names both values of each differing setting, its variable, and both ways out', () => {
    expect(templateSettingsMismatch(installed(5, 1), { prefix: 'svc', shards: 1, replicas: 0 })).toBe(
      "Index template svc-template differs from this service's settings: number_of_shards 5 installed, 1 configured (AUDIT_INDEX_SHARDS); number_of_replicas 1 installed, 0 configured (AUDIT_INDEX_REPLICAS). It is left as installed (another service may share it) and new svc-* indices get its values: run `pdaas-audit setup` to install this service's values, or set AUDIT_INDEX_SHARDS=5 AUDIT_INDEX_REPLICAS=1 to match it.",
    );
  });

  it('names only what differs, and a setting the template lacks', () => {
    expect(templateSettingsMismatch(installed(1, undefined), { prefix: 'svc', shards: 1, replicas: 0 })).toBe(
      "Index template svc-template differs from this service's settings: number_of_replicas not set installed, 0 configured (AUDIT_INDEX_REPLICAS). It is left as installed (another service may share it) and new svc-* indices get its values: run `pdaas-audit setup` to install this service's values.",
    );
  });

  it('is quiet when the counts agree, whatever the spelling', () => {
    expect(
      templateSettingsMismatch(installed(1, 0), { prefix: 'svc', shards: 1, replicas: 0 }),
    ).toBeUndefined();
    // what we install, as written (numbers, not nested under `index`)
    expect(templateSettingsMismatch(indexTemplate({ prefix: 'svc' }), { prefix: 'svc' })).toBeUndefined();
  });
});

describe('ensureTemplate on an installed template with other counts', () => {
  it('warns once through the hook, for every later index too, and never writes', async () => {
    const { client, calls } = clusterWith(installed(3, 2));
    const warn = vi.fn();
    const opts = { prefix: 'svc-hook', shards: 1, replicas: 0 };
    expect(await ensureTemplate(client, opts, warn)).toBe('present');
    expect(await ensureTemplate(client, opts, warn)).toBe('present');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toContain(
      'number_of_shards 3 installed, 1 configured (AUDIT_INDEX_SHARDS)',
    );
    expect(warn.mock.calls[0]?.[1]).toEqual({
      template: 'svc-hook-template',
      code: 'AUDIT_WARN_TEMPLATE_DIFFERS',
    });
    expect(calls.every((c) => c.startsWith('GET '))).toBe(true);
  });

  it('is a coded process warning when no hook is given', async () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { client } = clusterWith(installed(2, 0));
    await ensureTemplate(client, { prefix: 'svc-default', shards: 1, replicas: 0 });
    expect(emit).toHaveBeenCalledTimes(1);
    expect(emit.mock.calls[0]?.[1]).toEqual({ code: 'AUDIT_WARN_TEMPLATE_DIFFERS', type: 'AuditWarning' });
  });

  it('says nothing when the counts agree', async () => {
    const { client } = clusterWith(installed(1, 0));
    const warn = vi.fn();
    await ensureTemplate(client, { prefix: 'svc-same', shards: 1, replicas: 0 }, warn);
    expect(warn).not.toHaveBeenCalled();
  });
});
