// The built CLI (package bin) as a child process against the real node: usage and exit codes,
// setup twice, the health verdicts, count/search/tail for one organization, indices and their
// deletion by date. Spool and dead letters: cli-spool.test.ts; the security plugin: cli-secure.test.ts.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { cli, nodeEnv, pdaas } from '../support/cli.js';
import { faultAudit, settled, waitFor } from '../support/faults.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

async function ismInstalled(): Promise<boolean> {
  const plugins = await fetch(`${testUrl()}/_cat/plugins?h=component`).then((r) => r.text());
  return plugins.includes('opensearch-index-management');
}

/** Sends `n` audited requests (GET /policies/p-<i>) for the organizations `org(i)` names. */
async function traffic(prefix: string, n: number, org: (i: number) => string): Promise<void> {
  const { audit } = await faultAudit(prefix, testUrl());
  const app = createApp(audit);
  for (let i = 0; i < n; i++) {
    await (
      await app.request(`/policies/p-${i}`, {
        headers: { 'x-organization-id': org(i), 'x-actor-id': `u-${i}` },
      })
    ).arrayBuffer();
  }
  await settled(audit);
  await audit.close();
  await testClient().indices.refresh({ index: `${prefix}-*` });
}

const commands = [
  'setup',
  'health',
  'count',
  'search',
  'tail',
  'indices',
  'spool',
  'dead-letters',
  'dashboards',
  'template',
  'policy',
  'role',
  'config',
];

describe('pdaas-audit usage', () => {
  it('--help for every command exits 0 and documents the exit codes; usage errors exit 2', async () => {
    const overview = await pdaas(['--help']);
    expect(overview.code).toBe(0);
    for (const c of commands) expect(overview.stdout).toContain(`  ${c} `);
    for (const c of commands) {
      const help = await pdaas([c, '--help']);
      expect(help.code, c).toBe(0);
      expect(help.stdout, c).toMatch(new RegExp(`^usage: pdaas-audit ${c}`));
      expect(help.stdout, c).toMatch(/exit codes: 0 .*2 usage error/s);
    }
    expect((await pdaas([])).code).toBe(2);
    const unknown = await pdaas(['nonsense']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'nonsense'");
    const flag = await pdaas(['count', '--org', 'o', '--bogus']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('AUDIT_ERR_INVALID_OPTION');
    expect((await pdaas(['count'])).code).toBe(2); // --org is required
    expect((await pdaas(['health'], { AUDIT_BATCH_SIZE: 'many' })).stderr).toContain('AUDIT_BATCH_SIZE');
  });

  it('config masks the password; template show prints the payload without connecting', async () => {
    const password = 'pw-visible-nowhere';
    const config = await pdaas(['config'], {
      AUDIT_OPENSEARCH_USERNAME: 'w',
      AUDIT_OPENSEARCH_PASSWORD: password,
    });
    expect(config.code).toBe(0);
    expect(JSON.parse(config.stdout).opensearch).toMatchObject({ username: 'w', password: '***' });
    expect(config.stdout + config.stderr).not.toContain(password);
    const tpl = JSON.parse((await pdaas(['template', 'show', '--shards', '3', '--replicas', '0'])).stdout);
    expect(tpl.template.settings).toEqual({
      number_of_shards: 3,
      number_of_replicas: 0,
      refresh_interval: '30s',
      'index.codec': 'best_compression',
    });
    expect(JSON.parse((await pdaas(['policy', 'show'])).stdout).policy.default_state).toBe('hot');
  });
});

describe('pdaas-audit setup and health', () => {
  it('health: no host is unhealthy; a missing template is degraded; setup installs it and a second run changes nothing', async () => {
    const prefix = uniquePrefix('clis');
    const env = nodeEnv(prefix);
    const noHost = await pdaas(['health'], { ...env, AUDIT_OPENSEARCH_HOST: undefined });
    expect(noHost.code).toBe(1);
    expect(noHost.stdout.trim().split('\n').at(-1)).toBe(
      'unhealthy: cluster: no OpenSearch address: pass --url or set AUDIT_OPENSEARCH_URL (or _HOST)',
    );
    const unreachable = await pdaas(['health', '--json'], { ...env, AUDIT_OPENSEARCH_PORT: '1' });
    expect(unreachable.code).toBe(1);
    expect(JSON.parse(unreachable.stdout).verdict).toBe('unhealthy');

    const before = await pdaas(['health', '--json'], env);
    expect(before.code).toBe(1);
    const report = JSON.parse(before.stdout);
    expect(report.verdict).not.toBe('healthy');
    expect(report.checks.find((c: { name: string }) => c.name === 'template')).toEqual({
      name: 'template',
      status: 'warn',
      detail: `${prefix}-template missing (run pdaas-audit setup)`,
    });
    expect(report.checks.find((c: { name: string }) => c.name === 'bulk').status).toBe('ok');

    // The test node has the ISM plugin where ../shared/opensearch-plugins is (always in CI); the
    // secure node of cli-secure.test.ts runs without it and checks that path.
    const ism = await ismInstalled();
    const first = await pdaas(['setup'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`template ${prefix}-template: created`);
    expect(first.stdout).toContain(
      ism
        ? `policy ${prefix}-lifecycle: created`
        : `policy ${prefix}-lifecycle: skipped (AUDIT_ERR_ISM_UNAVAILABLE`,
    );
    // This node has no security plugin.
    expect(first.stdout).toContain('role audit_writer: skipped (AUDIT_ERR_SECURITY_UNAVAILABLE');
    const tpl = await testClient().indices.getIndexTemplate({ name: `${prefix}-template` });
    const installed = tpl.body.index_templates[0]?.index_template;
    expect(installed?.index_patterns).toEqual([`${prefix}-*`]);
    expect(installed?.template?.settings?.index).toMatchObject({
      number_of_shards: '1',
      number_of_replicas: '0',
      refresh_interval: '30s',
      codec: 'best_compression',
    });

    const second = await pdaas(['setup'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`template ${prefix}-template: unchanged`);
    expect(second.stdout.trim().split('\n').at(-1)).toBe(
      ism
        ? 'setup: nothing changed (2 unchanged, 1 skipped)'
        : 'setup: nothing changed (1 unchanged, 2 skipped)',
    );
    const json = JSON.parse((await pdaas(['setup', '--json'], env)).stdout);
    expect(json.items.map((i: { state: string }) => i.state)).toEqual([
      'unchanged',
      ism ? 'unchanged' : 'skipped',
      'skipped',
    ]);

    const required = await pdaas(['setup', '--require-ism'], env);
    expect(required.code).toBe(ism ? 0 : 1);
    const dry = await pdaas(['setup', '--dry-run', '--replicas', '1'], env);
    expect(dry.stdout).toContain(
      `template ${prefix}-template: would update (settings.index.number_of_replicas: "0" → "1")`,
    );

    // Healthy now, if the shared node is green (other test files may leave a yellow index behind).
    const green = (await testClient().cluster.health()).body.status === 'green';
    const after = await pdaas(['health'], env);
    const verdict = after.stdout.trim().split('\n').at(-1);
    if (green) {
      expect(after.code).toBe(0);
      expect(verdict).toBe('healthy');
    } else expect(verdict).toMatch(/^degraded: cluster: yellow/);
    expect(after.stdout).toMatch(/template +ok +.*installed as expected/);
    const strict = await pdaas(['health', '--require-ism'], env);
    if (ism) {
      expect(after.stdout).toMatch(/policy +ok +.*installed as expected/);
      expect(after.stdout).toMatch(new RegExp(`lifecycle +ok +no ${prefix}-\\* indices yet`));
      expect(strict.code).toBe(after.code);
    } else {
      expect(after.stdout).toMatch(/policy +skip +.*AUDIT_ERR_ISM_UNAVAILABLE/);
      expect(after.stdout).toMatch(/lifecycle +skip +no Index State Management plugin/);
      expect(strict.code).toBe(1);
      expect(strict.stdout.trim().split('\n').at(-1)).toMatch(
        /^unhealthy: policy: .*AUDIT_ERR_ISM_UNAVAILABLE/,
      );
    }

    // An index made before the policy existed is not under it: health says so, indices shows it.
    if (ism) {
      await testClient().transport.request({
        method: 'DELETE',
        path: `/_plugins/_ism/policies/${prefix}-lifecycle`,
      });
      const early = `${prefix}-api-2020-01-01`;
      await testClient().indices.create({ index: early });
      expect((await pdaas(['setup'], env)).stdout).toContain(`policy ${prefix}-lifecycle: created`);
      const unmanaged = JSON.parse((await pdaas(['health', '--json'], env)).stdout);
      expect(unmanaged.checks.find((c: { name: string }) => c.name === 'lifecycle')).toEqual({
        name: 'lifecycle',
        status: 'warn',
        detail: `1 of 1 not managed by ${prefix}-lifecycle (${early}): retention will not delete them`,
      });
      const list = JSON.parse((await pdaas(['indices', '--json'], env)).stdout);
      expect(list.indices.map((i: { lifecycle: string }) => i.lifecycle)).toEqual(['unmanaged']);
      await testClient().indices.delete({ index: early });
    }

    // A template that differs from what setup installs is degraded, naming the difference.
    const differs = await pdaas(['health', '--json', '--shards', '2'], env);
    expect(differs.code).toBe(1);
    expect(JSON.parse(differs.stdout).summary).toContain('settings.index.number_of_shards: "1" → "2"');
  });

  it('the single-item installers keep working and refuse honestly without ISM or security', async () => {
    const prefix = uniquePrefix('clip');
    const env = nodeEnv(prefix);
    const tpl = await pdaas(['template', 'install'], env);
    expect(tpl.code).toBe(0);
    expect(tpl.stdout.trim()).toBe(`template ${prefix}-template: created`);
    expect((await pdaas(['template', 'install'], env)).stdout.trim()).toBe(
      `template ${prefix}-template: unchanged`,
    );
    const policy = await pdaas(['policy', 'install'], env);
    if (await ismInstalled()) {
      expect(policy.code).toBe(0);
      expect(policy.stdout.trim()).toBe(`policy ${prefix}-lifecycle: created`);
    } else {
      expect(policy.code).toBe(1);
      expect(policy.stderr).toContain('AUDIT_ERR_ISM_UNAVAILABLE');
    }
    const role = await pdaas(['role', 'install'], env);
    expect(role.code).toBe(1);
    expect(role.stderr).toContain('AUDIT_ERR_SECURITY_UNAVAILABLE');
  });
});

describe('pdaas-audit count, search, tail', () => {
  it('count and search stay inside one organization and page with --after', async () => {
    const prefix = uniquePrefix('clir');
    const env = nodeEnv(prefix);
    await traffic(prefix, 30, (i) => (i % 3 === 0 ? 'org-b' : 'org-a'));

    expect((await pdaas(['count', '--org', 'org-a'], env)).stdout).toBe('20\n');
    expect(
      JSON.parse(
        (await pdaas(['count', '--org', 'org-b', '--action', 'policies.read', '--json'], env)).stdout,
      ),
    ).toEqual({
      organization: 'org-b',
      count: 10,
    });
    expect(
      (
        await pdaas(
          ['count', '--org', 'org-a', '--from', '1h', '--status', '2xx', '--outcome', 'success'],
          env,
        )
      ).stdout,
    ).toBe('20\n');
    expect((await pdaas(['count', '--org', 'org-a', '--to', '1h'], env)).stdout).toBe('0\n');
    expect((await pdaas(['count', '--org', 'org-a', '--actor', 'u-1'], env)).stdout).toBe('1\n');

    const first = JSON.parse(
      (await pdaas(['search', '--org', 'org-a', '--size', '15', '--json'], env)).stdout,
    );
    expect(first.events).toHaveLength(15);
    expect(first.events.every((e: { organization_id: string }) => e.organization_id === 'org-a')).toBe(true);
    const second = JSON.parse(
      (await pdaas(['search', '--org', 'org-a', '--size', '15', '--after', first.next, '--json'], env))
        .stdout,
    );
    expect(second.events).toHaveLength(5);
    expect(second.next).toBeNull();
    const ids = new Set([...first.events, ...second.events].map((e: { event_id: string }) => e.event_id));
    expect(ids.size).toBe(20);

    const text = await pdaas(['search', '--org', 'org-b', '--size', '2'], env);
    const lines = text.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^\S+Z {2}u-\d+ {2}policies\.read {2}policy:p-\d+ {2}GET \/policies\/p-\d+ {2}200 success$/,
    );
    expect(lines[2]).toMatch(/^# next page: --after \S+$/);
    const bad = await pdaas(['search', '--org', 'org-a', '--status', 'abc'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('AUDIT_ERR_INVALID_OPTION');
  });

  it('tail prints an event indexed after it started, then stops on SIGINT with exit 0', async () => {
    const prefix = uniquePrefix('clit');
    const env = nodeEnv(prefix);
    const child = spawn(process.execPath, [cli, 'tail', '--org', 'org-t', '--interval', '200ms', '--json'], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('tail to start', () => stderr.includes('following org-t'), 30_000);
      await traffic(prefix, 3, (i) => (i === 1 ? 'org-t' : 'org-other'));
      await waitFor('the event on stdout', () => stdout.includes('\n'), 30_000).catch((err: Error) => {
        throw new Error(`${err.message}; tail's stderr: ${stderr}`);
      });
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const events = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => [e.organization_id, e.target])).toEqual([['org-t', 'policy:p-1']]);
  });
});

describe('pdaas-audit indices', () => {
  it('lists sizes per index and deletes the ones before a day, after --yes', async () => {
    const prefix = uniquePrefix('clii');
    const env = nodeEnv(prefix);
    const client = testClient();
    for (const day of ['2020-01-01', '2020-01-02', '2020-01-03']) {
      await client.indices.create({
        index: `${prefix}-api-${day}`,
        body: { settings: { number_of_shards: 1, number_of_replicas: 0 } } as never,
      });
    }
    await client.index({
      index: `${prefix}-api-2020-01-03`,
      body: { event_id: 'x', organization_id: 'o' },
      refresh: true,
    });

    const list = await pdaas(['indices', '--json'], env);
    expect(list.code).toBe(0);
    const { indices, total } = JSON.parse(list.stdout);
    expect(indices.map((i: { index: string }) => i.index)).toEqual([
      `${prefix}-api-2020-01-01`,
      `${prefix}-api-2020-01-02`,
      `${prefix}-api-2020-01-03`,
    ]);
    expect(indices[2]).toMatchObject({ docs: 1, status: 'open' });
    expect(indices[2].avgEventBytes).toBe(Math.round(indices[2].primaryStoreBytes / 1));
    expect(total).toMatchObject({ indices: 3, docs: 1 });
    expect((await pdaas(['indices'], env)).stdout).toMatch(/^total: 3 indices, 1 doc, /m);

    // No terminal and no --yes: refused, nothing deleted.
    const refused = await pdaas(['indices', 'delete', '--before', '2020-01-03'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing without --yes');
    const dry = JSON.parse(
      (await pdaas(['indices', 'delete', '--before', '2020-01-03', '--dry-run', '--json'], env)).stdout,
    );
    expect(dry.wouldDelete).toEqual([`${prefix}-api-2020-01-01`, `${prefix}-api-2020-01-02`]);

    const deleted = await pdaas(['indices', 'delete', '--before', '2020-01-03', '--yes'], env);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain('deleted 2 indices');
    const left = Object.keys((await client.indices.get({ index: `${prefix}-*` })).body);
    expect(left).toEqual([`${prefix}-api-2020-01-03`]);
    expect((await pdaas(['indices', 'delete', '--before', '2020-01-03', '--yes'], env)).stdout).toContain(
      'no ',
    );
  });
});
