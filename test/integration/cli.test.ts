// The CLI (package bin) against the real node: health, template, policy and role installers,
// tenant-scoped search and count, and the spool.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createAudit } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { faultAudit, settled, tempDir } from '../support/faults.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

const run = promisify(execFile);
const cli = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

async function pdaas(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('pdaas-audit CLI', () => {
  const prefix = uniquePrefix('cli');
  const node = new URL(testUrl());
  const env = {
    AUDIT_OPENSEARCH_HOST: node.hostname,
    AUDIT_OPENSEARCH_PORT: node.port,
    AUDIT_INDEX_PREFIX: prefix,
    AUDIT_INDEX_SHARDS: '1',
    AUDIT_INDEX_REPLICAS: '0',
  };

  it('health, template install, and honest refusals for ISM and the security plugin', async () => {
    const health = await pdaas(['health'], env);
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout).status).toMatch(/green|yellow/);

    expect((await pdaas(['template', 'install'], env)).code).toBe(0);
    const tpl = await testClient().indices.getIndexTemplate({ name: `${prefix}-template` });
    expect(tpl.body.index_templates[0]?.index_template.index_patterns).toEqual([`${prefix}-*`]);

    const policy = await pdaas(['policy', 'install'], env);
    expect(policy.code).toBe(1);
    expect(policy.stderr).toContain('AUDIT_ERR_ISM_UNAVAILABLE');
    const role = await pdaas(['role', 'install'], env);
    expect(role.code).toBe(1);
    expect(role.stderr).toContain('AUDIT_ERR_SECURITY_UNAVAILABLE');
    expect(JSON.parse((await pdaas(['policy', 'show'], env)).stdout).policy.default_state).toBe('hot');
    expect((await pdaas(['health'], { AUDIT_OPENSEARCH_HOST: '' })).code).toBe(1);
    expect((await pdaas(['nonsense'], env)).code).toBe(2);
  });

  it('search and count stay inside one organization and page with --after', async () => {
    const { audit } = await faultAudit(prefix, testUrl());
    const app = createApp(audit);
    for (let n = 0; n < 30; n++) {
      const org = n % 3 === 0 ? 'org-b' : 'org-a';
      await (
        await app.request(`/policies/p-${n}`, {
          headers: { 'x-organization-id': org, 'x-actor-id': `u-${n}` },
        })
      ).arrayBuffer();
    }
    await settled(audit);
    await audit.close();
    await testClient().indices.refresh({ index: `${prefix}-*` });

    expect((await pdaas(['count', '--org', 'org-a'], env)).stdout.trim()).toBe('20');
    expect((await pdaas(['count', '--org', 'org-b', '--action', 'policies.read'], env)).stdout.trim()).toBe(
      '10',
    );
    const first = await pdaas(['search', '--org', 'org-a', '--size', '15'], env);
    const lines = first.stdout.trim().split('\n');
    const events = lines.filter((l) => !l.startsWith('#')).map((l) => JSON.parse(l));
    expect(events).toHaveLength(15);
    expect(events.every((e) => e.organization_id === 'org-a')).toBe(true);
    const cursor = /--after (\S+)/.exec(first.stdout)?.[1] as string;
    const second = await pdaas(['search', '--org', 'org-a', '--size', '15', '--after', cursor], env);
    expect(second.stdout.trim().split('\n')).toHaveLength(5);
    const bad = await pdaas(['search', '--org', 'org-a', '--status', 'abc'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('AUDIT_ERR_INVALID_OPTION');
  });

  it('spool show reads the embedded default store', async () => {
    const spoolDir = tempDir('cli-spool');
    const audit = await createAudit({
      registry: new Registry(),
      logger: { info() {}, warn() {}, error() {} },
      spoolDir,
    });
    const app = createApp(audit);
    for (let n = 0; n < 7; n++)
      await (
        await app.request(`/groups/g-${n}`, { headers: { 'x-organization-id': 'org-s' } })
      ).arrayBuffer();
    await audit.close();
    const out = await pdaas(['spool', 'show', '--limit', '3'], { AUDIT_SPOOL_DIR: spoolDir });
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines.filter((l) => !l.startsWith('#')).map((l) => JSON.parse(l).action)).toEqual([
      'groups.read',
      'groups.read',
      'groups.read',
    ]);
    expect(lines.at(-1)).toBe(`# 7 events in ${spoolDir}`);
  });
});
