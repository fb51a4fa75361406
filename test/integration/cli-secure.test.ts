// The built CLI against a real secure node (TLS, the security plugin, basic auth; see
// test/integration/tls.test.ts): setup as admin installs the template, the writer role and the
// writer user, a second run changes nothing; health as the writer is healthy, with a wrong password
// or without the bulk permission it is unhealthy; and the writer, with nothing but its role,
// replays a spool. The plain test node of the global setup is not used here.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from '@opensearch-project/opensearch';
import { createAudit } from '@pdaas/audit';
import { writerRole } from '@pdaas/audit/opensearch';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { DevNode } from '../../scripts/opensearch/dev-node.js';
import { pdaas } from '../support/cli.js';
import { tempDir } from '../support/faults.js';
import { uniquePrefix } from '../support/opensearch.js';

const lastLine = (s: string) => s.trim().split('\n').at(-1);

// Without ISM: the secure node keeps the path of a cluster that has no lifecycle plugin covered
// (setup and health say AUDIT_ERR_ISM_UNAVAILABLE), which the shared test node, with ISM, no longer is.
const node = new DevNode({
  secure: true,
  ism: false,
  name: 'clitls',
  port: Number(process.env.OPENSEARCH_TLS_TEST_PORT ?? 9290),
  fresh: true,
});
let admin: Client;

beforeAll(async () => {
  await node.start();
  admin = new Client({
    node: node.url,
    auth: { username: node.adminUser, password: node.adminPassword },
    ssl: { ca: readFileSync(node.caFile) },
  });
}, 300_000);

afterAll(async () => {
  await admin?.close();
  await node.stop();
}, 120_000);

describe('pdaas-audit against the security plugin', () => {
  const prefix = uniquePrefix('clitls');
  const role = `audit_writer_${prefix}`;
  const user = `writer_${prefix}`;
  const password = `Wr1!${randomBytes(18).toString('base64url')}`;
  const as = (username: string, pass: string) => ({
    AUDIT_OPENSEARCH_HOST: '127.0.0.1',
    AUDIT_OPENSEARCH_PORT: String(node.port),
    AUDIT_OPENSEARCH_USE_SSL: 'true',
    AUDIT_OPENSEARCH_CA_CERTS: node.caFile,
    AUDIT_OPENSEARCH_USERNAME: username,
    AUDIT_OPENSEARCH_PASSWORD: pass,
    AUDIT_INDEX_PREFIX: prefix,
    AUDIT_INDEX_SHARDS: '1',
    AUDIT_INDEX_REPLICAS: '0',
  });

  it('setup installs template, role and user; a second run changes nothing; secrets are never printed', async () => {
    const asAdmin = { ...as(node.adminUser, node.adminPassword), AUDIT_WRITER_PASSWORD: password };
    const first = await pdaas(['setup', '--role', role, '--writer-user', user], asAdmin);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n')).toEqual([
      `template ${prefix}-template: created`,
      expect.stringMatching(
        new RegExp(`^policy ${prefix}-lifecycle: skipped \\(AUDIT_ERR_ISM_UNAVAILABLE: `),
      ),
      `role ${role}: created`,
      `user ${user}: created`,
      'setup: 3 created, 1 skipped',
    ]);
    const stored = await admin.transport.request({
      method: 'GET',
      path: `/_plugins/_security/api/roles/${role}`,
    });
    expect(stored.body).toMatchObject({ [role]: writerRole(prefix) });
    const writer = new Client({
      node: node.url,
      auth: { username: user, password },
      ssl: { ca: readFileSync(node.caFile) },
    });
    const info = await writer.transport.request({ method: 'GET', path: '/_plugins/_security/authinfo' });
    await writer.close();
    expect((info.body as { roles: string[] }).roles).toEqual([role]);

    const second = await pdaas(['setup', '--role', role, '--writer-user', user], asAdmin);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`role ${role}: unchanged`);
    expect(second.stdout).toContain(`user ${user}: unchanged`);
    expect(lastLine(second.stdout)).toBe('setup: nothing changed (3 unchanged, 1 skipped)');
    for (const r of [first, second]) {
      expect(r.stdout + r.stderr).not.toContain(password);
      expect(r.stdout + r.stderr).not.toContain(node.adminPassword);
    }
  });

  it('health as the writer is healthy; a wrong password or a user without the bulk permission is not', async () => {
    const writer = await pdaas(['health', '--json'], as(user, password));
    expect(writer.code).toBe(0);
    const report = JSON.parse(writer.stdout);
    expect(report.verdict).toBe('healthy');
    expect(report.checks).toEqual([
      { name: 'cluster', status: 'ok', detail: expect.stringMatching(/^green /) },
      { name: 'auth', status: 'ok', detail: `user ${user}, roles ${role}` },
      { name: 'bulk', status: 'ok', detail: expect.stringContaining('nothing written') },
      // The writer may not read templates: not checked, and said so.
      {
        name: 'template',
        status: 'skip',
        detail: expect.stringContaining(`reading templates is refused as ${user}`),
      },
      { name: 'policy', status: 'skip', detail: expect.stringContaining('AUDIT_ERR_ISM_UNAVAILABLE') },
      { name: 'lifecycle', status: 'skip', detail: 'no Index State Management plugin' },
    ]);
    // The probe wrote nothing: no index of this prefix exists.
    expect((await admin.indices.exists({ index: `${prefix}-*`, allow_no_indices: false })).body).toBe(false);

    const wrong = await pdaas(['health'], as(user, `${password}-wrong`));
    expect(wrong.code).toBe(1);
    expect(lastLine(wrong.stdout)).toBe(
      `unhealthy: cluster: OpenSearch refused the credentials of user ${user} (401)`,
    );
    expect(wrong.stdout + wrong.stderr).not.toContain(password);

    // A user who may read cluster health but not _bulk.
    const monitor = `monitor_${prefix}`;
    await admin.transport.request({
      method: 'PUT',
      path: `/_plugins/_security/api/roles/${monitor}`,
      body: { cluster_permissions: ['cluster:monitor/health'] },
    });
    await admin.transport.request({
      method: 'PUT',
      path: `/_plugins/_security/api/internalusers/${monitor}`,
      body: { password, opendistro_security_roles: [monitor] },
    });
    const noBulk = await pdaas(['health'], as(monitor, password));
    expect(noBulk.code).toBe(1);
    expect(lastLine(noBulk.stdout)).toMatch(
      /^unhealthy: bulk: _bulk as \S+ answered 403 no permissions for \[indices:data\/write\/bulk\]/,
    );

    // As admin the template is compared too.
    const asAdmin = await pdaas(['health'], as(node.adminUser, node.adminPassword));
    expect(asAdmin.code).toBe(0);
    expect(asAdmin.stdout).toMatch(/template +ok +.*installed as expected/);
  });

  it('a changed writer password is an update; the writer replays a spool with nothing but its role', async () => {
    const newPassword = `Wr2!${randomBytes(18).toString('base64url')}`;
    const asAdmin = { ...as(node.adminUser, node.adminPassword), AUDIT_WRITER_PASSWORD: newPassword };
    const changed = await pdaas(['setup', '--role', role, '--writer-user', user, '--json'], asAdmin);
    expect(changed.code).toBe(0);
    const items = JSON.parse(changed.stdout).items;
    expect(items.find((i: { kind: string }) => i.kind === 'user')).toEqual({
      kind: 'user',
      name: user,
      state: 'updated',
      changes: ['password: changed'],
    });
    expect(changed.stdout).not.toContain(newPassword);

    const spoolDir = tempDir(prefix);
    const audit = await createAudit({
      registry: new Registry(),
      logger: { info() {}, warn() {}, error() {} },
      indexPrefix: prefix,
      spoolDir,
    });
    const app = createApp(audit);
    for (let i = 0; i < 20; i++)
      await (
        await app.request(`/accounts/a-${i}`, { headers: { 'x-organization-id': 'org-w' } })
      ).arrayBuffer();
    expect((await audit.close()).spooled).toBe(20);
    // The guide's writer runs with AUDIT_INSTALL_TEMPLATE=false: setup (as admin) installed it.
    const replay = await pdaas(['spool', 'replay', '--json'], {
      ...as(user, newPassword),
      AUDIT_SPOOL_DIR: spoolDir,
      AUDIT_INSTALL_TEMPLATE: 'false',
    });
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({
      events: 20,
      indexed: 20,
      remaining: 0,
      complete: true,
    });
    await admin.indices.refresh({ index: `${prefix}-*` });
    expect((await admin.count({ index: `${prefix}-*` })).body.count).toBe(20);
  });
});
