// Setups that work but deserve a word at start: no OpenSearch (events stay in the local spool), and
// a password sent over plain http in production. Real worker threads (run `npm run build` first).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAudit } from '../../src/audit.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { warnIfInsecure } from '../../src/opensearch/client.js';
import { collectLogs } from '../support/logs.js';

let spoolDir: string;

beforeEach(async () => {
  spoolDir = await mkdtemp(join(tmpdir(), 'audit-announce-'));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(spoolDir, { recursive: true, force: true });
});

const noOpenSearch = 'No OpenSearch configured: events are kept in the local spool';

describe('at start', () => {
  it('says once, with the absolute spool folder, that without OpenSearch events stay in the spool', async () => {
    const logs = collectLogs();
    const audit = await createAudit({ workers: 2, spoolDir, registry: new Registry(), logger: logs.logger });
    await audit.close();
    const lines = logs.lines.filter((l) => l.startsWith(`info ${noOpenSearch} `));
    expect(lines).toEqual([`info ${noOpenSearch} ${JSON.stringify({ spoolDir })}`]);
    expect(isAbsolute(spoolDir)).toBe(true);
  });

  it('says nothing of the kind when OpenSearch is configured', async () => {
    const logs = collectLogs();
    const audit = await createAudit({
      spoolDir,
      registry: new Registry(),
      logger: logs.logger,
      // Nothing is sent: no event is captured.
      opensearch: { host: '127.0.0.1', port: 1 },
    });
    await audit.close();
    expect(logs.lines.some((l) => l.includes(noOpenSearch))).toBe(false);
    expect(logs.lines.some((l) => l.startsWith('info Audit system initialized'))).toBe(true);
  });
});

describe('warnIfInsecure: credentials over plain http', () => {
  const os = (env: Record<string, string>) =>
    resolveConfig({}, { AUDIT_OPENSEARCH_HOST: 'opensearch.prod.internal', ...env }).opensearch;
  const credentials = { AUDIT_OPENSEARCH_USERNAME: 'audit_writer', AUDIT_OPENSEARCH_PASSWORD: 'pw-Zq81' };

  it('warns with a code in production, naming the user and the setting, never the password', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    warnIfInsecure(os(credentials), 'production');
    expect(warn.mock.calls).toEqual([
      [
        'OpenSearch credentials of user audit_writer go over plain http in production: use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)',
        { code: 'AUDIT_WARN_CREDENTIALS_PLAINTEXT', type: 'AuditWarning' },
      ],
    ]);
  });

  it('stays quiet over https, without credentials, and outside production', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    warnIfInsecure(os({ ...credentials, AUDIT_OPENSEARCH_USE_SSL: 'true' }), 'production');
    warnIfInsecure(os({}), 'production');
    warnIfInsecure(os(credentials), 'development');
    expect(warn).not.toHaveBeenCalled();
  });

  it('is emitted by createAudit', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const audit = await createAudit({
      spoolDir,
      registry: new Registry(),
      logger: collectLogs().logger,
      environment: 'production',
      opensearch: { host: '127.0.0.1', port: 1, username: 'audit_writer', password: 'pw-Zq81' },
    });
    await audit.close();
    expect(warn.mock.calls.map((c) => (c[1] as { code?: string } | undefined)?.code)).toContain(
      'AUDIT_WARN_CREDENTIALS_PLAINTEXT',
    );
  });
});
