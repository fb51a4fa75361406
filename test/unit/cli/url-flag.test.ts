// `--url` on every command: the OpenSearch address for this run, replacing the environment's
// (URL or the guide's host and port), checked like AUDIT_OPENSEARCH_URL; `dashboards import` keeps
// its own --url. Run in-process through the dispatcher, as the bin runs it.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run } from '../../../src/cli/run.js';

async function cli(argv: string[], env: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => {
    out += c;
  });
  stderr.on('data', (c) => {
    err += c;
  });
  const code = await run(argv, { stdout, stderr, stdin: new PassThrough(), env });
  return { code, out, err };
}

const guide = {
  AUDIT_OPENSEARCH_HOST: 'opensearch.prod.internal',
  AUDIT_OPENSEARCH_PORT: '9200',
  AUDIT_OPENSEARCH_USE_SSL: 'true',
};

describe('pdaas-audit --url', () => {
  it('replaces the address of the environment for this run', async () => {
    const { code, out } = await cli(['config', '--url', 'http://127.0.0.1:9250'], guide);
    expect(code).toBe(0);
    expect(JSON.parse(out).opensearch).toMatchObject({
      url: 'http://127.0.0.1:9250',
      nodes: ['http://127.0.0.1:9250'],
      useSsl: false,
    });
  });

  it('without it, the environment decides, and a later command does not inherit an earlier --url', async () => {
    await cli(['config', '--url', 'http://127.0.0.1:9250'], guide);
    const { out } = await cli(['config'], guide);
    expect(JSON.parse(out).opensearch.url).toBe('https://opensearch.prod.internal:9200');
  });

  it('refuses a URL with credentials as a usage error naming --url, without echoing them', async () => {
    const { code, err } = await cli(['config', '--url', 'http://admin:s3cret@127.0.0.1:9250']);
    expect(code).toBe(2);
    expect(err).toContain(
      'pdaas-audit config: AUDIT_ERR_INVALID_OPTION: --url must not contain a user name or password (the value is not shown): URLs get logged; set AUDIT_OPENSEARCH_USERNAME and AUDIT_OPENSEARCH_PASSWORD instead',
    );
    expect(err).not.toContain('s3cret');
  });

  it('names the way to give the address when none is', async () => {
    const { code, err } = await cli(['indices']);
    expect(code).toBe(2);
    expect(err).toContain(
      'indices needs OpenSearch: pass --url or set AUDIT_OPENSEARCH_URL (or AUDIT_OPENSEARCH_HOST and _PORT, _USE_SSL), and _USERNAME, _PASSWORD as needed',
    );
  });
});
