import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditOptions } from '../../../src/config/options.js';
import { captureDisabled, describeConfig, resolveConfig } from '../../../src/config/resolve.js';
import { envVariables } from '../../../src/config/settings.js';
import { invalid } from '../../support/config-errors.js';

const dir = mkdtempSync(join(tmpdir(), 'audit-config-'));
const caFile = join(dir, 'opensearch-ca.crt');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = 'Pa55-zebra-QUOKKA-91!';

// The deployment guide's production .env block, as written (the password comes from the secrets
// manager through ${OPENSEARCH_AUDIT_PASSWORD}; the CA path is replaced by a file that exists).
const productionEnv = `
# Environment
ENV=production
# Audit Module - Production Configuration
AUDIT_ENABLED=true
AUDIT_SERVICE_NAME=api
AUDIT_ENVIRONMENT=production
AUDIT_SERVICE_VERSION=1.0.0
# OpenSearch Connection
AUDIT_OPENSEARCH_HOST=opensearch.prod.internal
AUDIT_OPENSEARCH_PORT=9200
AUDIT_OPENSEARCH_USERNAME=audit_writer
AUDIT_OPENSEARCH_PASSWORD=\${OPENSEARCH_AUDIT_PASSWORD} # From secrets manager
AUDIT_OPENSEARCH_USE_SSL=true
AUDIT_OPENSEARCH_VERIFY_CERTS=true
AUDIT_OPENSEARCH_CA_CERTS=/etc/ssl/certs/opensearch-ca.crt
AUDIT_OPENSEARCH_TIMEOUT=30
# Performance Tuning (Production)
AUDIT_BATCH_SIZE=500
AUDIT_FLUSH_INTERVAL_SECONDS=10.0
AUDIT_MAX_BODY_SIZE=20480
AUDIT_MAX_QUEUE_SIZE=50000
# Path Exclusion
AUDIT_EXCLUDED_PATHS=/health,/healthz,/metrics,/docs,/redoc,/openapi.json
# Index Configuration
AUDIT_INDEX_PREFIX=audit
AUDIT_INDEX_ROTATION=daily
# Retry Configuration
AUDIT_RETRY_ATTEMPTS=3
AUDIT_RETRY_BACKOFF_SECONDS=2.0
AUDIT_RETRY_BACKOFF_MULTIPLIER=2.0
`;

/** A dotenv reading: `KEY=value`, '#' comments, `${VAR}` expanded from `vars`. */
function parseDotenv(text: string, vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*?)(?:\s+#.*)?$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined)
      env[m[1]] = m[2].replace(/\$\{(\w+)\}/g, (_, v: string) => vars[v] ?? '');
  }
  return env;
}

describe('resolveConfig', () => {
  it('has the deployment guide defaults', () => {
    const c = resolveConfig({}, {});
    expect(c).toMatchObject({
      enabled: true,
      serviceName: 'api',
      environment: 'development',
      serviceVersion: '0.0.0',
      batchSize: 500,
      flushIntervalSeconds: 10.0,
      maxBodySize: 20480,
      maxQueueSize: 50000,
      excludedPaths: [],
      indexPrefix: 'audit',
      indexRotation: 'daily',
      retryAttempts: 3,
      retryBackoffSeconds: 2.0,
      retryBackoffMultiplier: 2.0,
      workers: 1,
      spoolDir: resolve(process.cwd(), '.audit-spool'),
      ringBytes: 50000 * 1024,
      batchBytes: 5242880,
      indexShards: 5,
      indexReplicas: 1,
      installTemplate: true,
      closeTimeoutSeconds: 30,
    });
    expect(c.opensearch).toEqual({
      host: undefined,
      port: 9200,
      username: undefined,
      password: undefined,
      useSsl: false,
      verifyCerts: true,
      caCerts: undefined,
      timeoutSeconds: 30,
      sniff: false,
      url: undefined,
      nodes: [],
    });
  });

  it('parses the deployment guide production .env block', () => {
    const env = parseDotenv(productionEnv, { OPENSEARCH_AUDIT_PASSWORD: PASSWORD });
    env.AUDIT_OPENSEARCH_CA_CERTS = caFile;
    const c = resolveConfig({}, env);
    expect(c).toMatchObject({
      enabled: true,
      serviceName: 'api',
      environment: 'production',
      serviceVersion: '1.0.0',
      batchSize: 500,
      flushIntervalSeconds: 10,
      excludedPaths: ['/health', '/healthz', '/metrics', '/docs', '/redoc', '/openapi.json'],
      retryBackoffMultiplier: 2,
    });
    expect(c.opensearch).toEqual({
      host: 'opensearch.prod.internal',
      port: 9200,
      username: 'audit_writer',
      password: PASSWORD,
      useSsl: true,
      verifyCerts: true,
      caCerts: caFile,
      timeoutSeconds: 30,
      sniff: false,
      url: 'https://opensearch.prod.internal:9200',
      nodes: ['https://opensearch.prod.internal:9200'],
    });
    expect(captureDisabled(c)).toBe(false);
  });

  it('lets code options win over the environment, field by field', () => {
    const env = { AUDIT_BATCH_SIZE: '100', AUDIT_OPENSEARCH_HOST: 'env-host', AUDIT_OPENSEARCH_PORT: '9201' };
    const c = resolveConfig({ batchSize: 7, opensearch: { host: 'code-host' }, excludedPaths: ['/x'] }, env);
    expect(c.batchSize).toBe(7);
    expect(c.opensearch.host).toBe('code-host');
    expect(c.opensearch.port).toBe(9201);
    expect(c.opensearch.url).toBe('http://code-host:9201');
    expect(c.excludedPaths).toEqual(['/x']);
    expect(resolveConfig({ batchSize: undefined }, env).batchSize).toBe(100);
    // the environment is not even parsed for a setting given in code
    expect(resolveConfig({ batchSize: 5 }, { AUDIT_BATCH_SIZE: 'abc' }).batchSize).toBe(5);
  });

  it('accepts the boolean spellings, decimals, lists and IPv6 hosts', () => {
    for (const [raw, value] of [
      ['TRUE', true],
      ['1', true],
      ['Yes', true],
      ['on', true],
      ['False', false],
      ['0', false],
      ['NO', false],
      ['off', false],
    ] as const) {
      expect(resolveConfig({}, { AUDIT_ENABLED: raw }).enabled).toBe(value);
    }
    const c = resolveConfig(
      {},
      {
        AUDIT_FLUSH_INTERVAL_SECONDS: '2.5',
        AUDIT_EXCLUDED_PATHS: ' /health , ,/accounts/* ,',
        AUDIT_OPENSEARCH_HOST: '::1',
        AUDIT_SPOOL_DIR: 'var/spool',
      },
    );
    expect(c.flushIntervalSeconds).toBe(2.5);
    expect(c.excludedPaths).toEqual(['/health', '/accounts/*']);
    expect(c.opensearch.url).toBe('http://[::1]:9200');
    expect(c.spoolDir).toBe(resolve(process.cwd(), 'var/spool'));
    expect(resolveConfig({}, { AUDIT_EXCLUDED_PATHS: '' }).excludedPaths).toEqual([]);
    // A wrong entry is named, not just the whole list.
    expect(invalid(() => resolveConfig({}, { AUDIT_EXCLUDED_PATHS: '/metrics,health' })).message).toBe(
      'AUDIT_EXCLUDED_PATHS must be a comma-separated list of paths, each starting with "/": "health" does not (as in "/health"); got "/metrics,health"',
    );
    expect(invalid(() => resolveConfig({ excludedPaths: ['/a', 'b', 'c'] }, {})).message).toBe(
      'excludedPaths must be a comma-separated list of paths, each starting with "/": "b", "c" do not (as in "/b"); got ["/a","b","c"]',
    );
    expect(resolveConfig({}, { AUDIT_OPENSEARCH_HOST: '10.0.0.7' }).opensearch.url).toBe(
      'http://10.0.0.7:9200',
    );
  });

  it('reads AUDIT_REDACT_KEYS as a comma list, code winning', () => {
    expect(resolveConfig({}, {}).redactKeys).toEqual([]);
    expect(resolveConfig({}, { AUDIT_REDACT_KEYS: ' email, x-tenant-secret ,,' }).redactKeys).toEqual([
      'email',
      'x-tenant-secret',
    ]);
    expect(resolveConfig({ redactKeys: ['iban'] }, { AUDIT_REDACT_KEYS: 'email' }).redactKeys).toEqual([
      'iban',
    ]);
    expect(invalid(() => resolveConfig({ redactKeys: ['a b'] }, {})).message).toContain(
      'redactKeys must be a comma-separated list of key names',
    );
  });

  it('derives the ring size from the queue size, within 64 KiB and 1 GiB', () => {
    expect(resolveConfig({ maxQueueSize: 10 }, {}).ringBytes).toBe(65536);
    expect(resolveConfig({ maxQueueSize: 10_000_000 }, {}).ringBytes).toBe(1024 ** 3);
    expect(resolveConfig({ maxQueueSize: 10, ringBytes: 131072 }, {}).ringBytes).toBe(131072);
  });

  it('returns a deeply frozen object', () => {
    const paths = ['/health'];
    const c = resolveConfig({ excludedPaths: paths }, {});
    expect(Object.isFrozen(c) && Object.isFrozen(c.opensearch) && Object.isFrozen(c.excludedPaths)).toBe(
      true,
    );
    expect(() => {
      (c as { batchSize: number }).batchSize = 1;
    }).toThrow(TypeError);
    expect(() => {
      (c.opensearch as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (c.excludedPaths as string[]).push('/x')).toThrow(TypeError);
    expect(Object.isFrozen(paths)).toBe(false); // the caller's array is copied, not frozen
  });
});

describe('wrong values', () => {
  // [variable, value, expected part of the message]; each must fail naming the variable and the value.
  const cases: Array<[string, string, string]> = [
    ['AUDIT_ENABLED', 'maybe', 'true or false'],
    ['AUDIT_SERVICE_NAME', 'My Service', 'lowercase letters'],
    ['AUDIT_SERVICE_NAME', '_api', 'not starting with'],
    ['AUDIT_SERVICE_NAME', 'a'.repeat(101), '1 to 100'],
    ['AUDIT_ENVIRONMENT', '', 'non-empty string'],
    ['AUDIT_SERVICE_VERSION', 'v'.repeat(101), 'at most 100'],
    ['AUDIT_OPENSEARCH_URL', 'opensearch 9200', 'comma-separated http(s)://host[:port] URLs'],
    ['AUDIT_OPENSEARCH_HOST', 'https://opensearch:9200', 'a URL goes in AUDIT_OPENSEARCH_URL'],
    ['AUDIT_OPENSEARCH_HOST', 'opensearch:0', 'host[:port]'],
    ['AUDIT_OPENSEARCH_HOST', '300.1.1.1', 'hostname or IP'],
    ['AUDIT_OPENSEARCH_PORT', '0', 'an integer from 1 to 65535'],
    ['AUDIT_OPENSEARCH_PORT', '65536', 'an integer from 1 to 65535'],
    ['AUDIT_OPENSEARCH_USERNAME', '', 'non-empty string'],
    ['AUDIT_OPENSEARCH_USE_SSL', 'tru', 'true or false'],
    ['AUDIT_OPENSEARCH_VERIFY_CERTS', '2', 'true or false'],
    ['AUDIT_OPENSEARCH_CA_CERTS', '/nonexistent/ca.crt', 'readable file'],
    ['AUDIT_OPENSEARCH_SNIFF', 'sometimes', 'true or false'],
    ['AUDIT_OPENSEARCH_TIMEOUT', '0', 'greater than 0 and at most 600'],
    ['AUDIT_OPENSEARCH_TIMEOUT', '601', 'greater than 0 and at most 600'],
    ['AUDIT_BATCH_SIZE', 'abc', 'an integer from 1 to 100000'],
    ['AUDIT_BATCH_SIZE', '', 'an integer from 1 to 100000'],
    ['AUDIT_BATCH_SIZE', '1e3', 'an integer from 1 to 100000'],
    ['AUDIT_BATCH_SIZE', '500.0', 'an integer from 1 to 100000'],
    ['AUDIT_BATCH_SIZE', ' 500', 'an integer from 1 to 100000'],
    ['AUDIT_BATCH_SIZE', '100001', 'an integer from 1 to 100000'],
    ['AUDIT_FLUSH_INTERVAL_SECONDS', '10s', 'a number greater than 0'],
    ['AUDIT_FLUSH_INTERVAL_SECONDS', 'NaN', 'a number greater than 0'],
    ['AUDIT_FLUSH_INTERVAL_SECONDS', 'Infinity', 'a number greater than 0'],
    ['AUDIT_FLUSH_INTERVAL_SECONDS', '0', 'a number greater than 0'],
    ['AUDIT_MAX_BODY_SIZE', '-1', 'an integer from 0 to 16777216'],
    ['AUDIT_MAX_QUEUE_SIZE', '0', 'an integer from 1 to 10000000'],
    ['AUDIT_EXCLUDED_PATHS', '/health,metrics', 'each starting with "/"'],
    ['AUDIT_INDEX_PREFIX', 'Audit', 'lowercase letters'],
    ['AUDIT_INDEX_PREFIX', '-audit', 'not starting with'],
    ['AUDIT_INDEX_ROTATION', 'hourly', 'one of daily, weekly, monthly'],
    ['AUDIT_FAILURE_MODE', 'strict', 'one of open, closed'],
    ['AUDIT_DURABLE_PATHS', '/transfers,admin/*', 'each starting with "/"'],
    ['AUDIT_DURABLE_TIMEOUT_MS', '0', 'an integer from 1 to 600000'],
    ['AUDIT_RETRY_ATTEMPTS', '101', 'an integer from 0 to 100'],
    ['AUDIT_RETRY_BACKOFF_SECONDS', '-1', 'a number from 0 to 3600'],
    ['AUDIT_RETRY_BACKOFF_MULTIPLIER', '0.5', 'a number from 1 to 100'],
    ['AUDIT_WORKERS', '65', 'an integer from 1 to 64'],
    ['AUDIT_SPOOL_DIR', '', 'a non-empty path'],
    ['AUDIT_CHECKPOINT_INTERVAL_SECONDS', '0', 'a number greater than 0'],
    ['AUDIT_SIGNING_KEY_FILE', '/nonexistent/audit-signing.key', 'cannot read it (ENOENT)'],
    ['AUDIT_SIGNING_KEY_FILE', '/etc/hostname', 'must be an Ed25519 private key in PEM'],
    ['AUDIT_CHECKPOINT_DIR', '', 'a non-empty path'],
    ['AUDIT_RING_BYTES', '65535', 'an integer from 65536 to 2147483648'],
    ['AUDIT_BATCH_BYTES', '1023', 'an integer from 1024 to 104857600'],
    ['AUDIT_INDEX_SHARDS', '0', 'an integer from 1 to 1024'],
    ['AUDIT_INDEX_REPLICAS', '17', 'an integer from 0 to 16'],
    ['AUDIT_INSTALL_TEMPLATE', 'sure', 'true or false'],
    ['AUDIT_CLOSE_TIMEOUT_SECONDS', '3601', 'a number greater than 0 and at most 3600'],
    ['AUDIT_SPOOL_MAX_BYTES', '1000', 'an integer from 1048576 to 1099511627776'],
    ['AUDIT_BREAKER_FAILURES', '0', 'an integer from 1 to 1000'],
    ['AUDIT_BREAKER_COOLDOWN_SECONDS', '-1', 'a number greater than 0 and at most 3600'],
    ['AUDIT_HANDLE_SIGNALS', 'sometimes', 'true or false'],
    ['AUDIT_REDACT_KEYS', 'session id', 'each 1 to 100 characters without spaces'],
    ['AUDIT_REDACT_KEYS', `ok,${'k'.repeat(101)}`, 'a comma-separated list of key names'],
  ];

  it.each(cases)('%s=%j fails naming the variable', (name, value, expected) => {
    const err = invalid(() => resolveConfig({}, { [name]: value, AUDIT_OPENSEARCH_PASSWORD: PASSWORD }));
    expect(err.message).toContain(`${name} must be `);
    expect(err.message).toContain(expected);
    expect(err.message).toContain(`got ${JSON.stringify(value)}`);
    expect(err.message).not.toContain(PASSWORD);
  });

  it('covers every variable at least once', () => {
    const tested = new Set(cases.map(([name]) => name));
    tested.add('AUDIT_OPENSEARCH_PASSWORD'); // below: its value is never shown
    expect(envVariables.map((v) => v.env).filter((env) => !tested.has(env))).toEqual([]);
  });

  it('writes the message of the example', () => {
    expect(invalid(() => resolveConfig({}, { AUDIT_BATCH_SIZE: 'abc' })).message).toBe(
      'AUDIT_BATCH_SIZE must be an integer from 1 to 100000, got "abc"',
    );
  });

  it('names the option, not the variable, when the value came from code', () => {
    const bad: Array<[AuditOptions, string]> = [
      [{ batchSize: 1.5 }, 'batchSize must be an integer from 1 to 100000, got 1.5'],
      [{ enabled: 'yes' as never }, 'enabled must be true or false'],
      [{ flushIntervalSeconds: Number.NaN }, 'flushIntervalSeconds must be a number greater than 0'],
      [{ excludedPaths: ['health'] }, `excludedPaths must be a comma-separated list`],
      [
        { opensearch: { port: '9200' as never } },
        'opensearch.port must be an integer from 1 to 65535, got "9200"',
      ],
      [{ opensearch: 'localhost' as never }, 'opensearch must be an object, got "localhost"'],
    ];
    for (const [options, message] of bad) {
      expect(invalid(() => resolveConfig(options, {})).message).toContain(message);
    }
  });

  it('names unknown option keys, with a hint for a wrong case', () => {
    const err = invalid(() => resolveConfig({ batchsize: 1, opensearch: { hots: 'x' } } as never, {}));
    expect(err.message).toBe(
      'unknown option "batchsize" (did you mean "batchSize"?); unknown option "opensearch.hots"',
    );
  });

  it('reports every problem at once', () => {
    const err = invalid(() => resolveConfig({}, { AUDIT_BATCH_SIZE: 'x', AUDIT_WORKERS: '0' }));
    expect(err.message).toBe(
      'AUDIT_BATCH_SIZE must be an integer from 1 to 100000, got "x"; AUDIT_WORKERS must be an integer from 1 to 64, got "0"',
    );
  });

  it('refuses a password without a username', () => {
    const fromEnv = invalid(() => resolveConfig({}, { AUDIT_OPENSEARCH_PASSWORD: PASSWORD }));
    expect(fromEnv.message).toBe(
      'AUDIT_OPENSEARCH_PASSWORD is set but neither AUDIT_OPENSEARCH_USERNAME nor opensearch.username is',
    );
    const fromCode = invalid(() => resolveConfig({ opensearch: { password: PASSWORD } }, {}));
    expect(fromCode.message).toMatch(/^opensearch\.password is set/);
  });
});

describe('the password', () => {
  it('never appears in an error message', () => {
    const messages = [
      invalid(() => resolveConfig({}, { AUDIT_OPENSEARCH_PASSWORD: '' })).message,
      invalid(() => resolveConfig({ opensearch: { password: 42 as never } }, {})).message,
      invalid(() => resolveConfig({}, { AUDIT_OPENSEARCH_PASSWORD: PASSWORD })).message,
      // pasted into the wrong variable, alone or inside a URL
      invalid(() =>
        resolveConfig({}, { AUDIT_OPENSEARCH_PASSWORD: PASSWORD, AUDIT_OPENSEARCH_HOST: PASSWORD }),
      ).message,
      invalid(() =>
        resolveConfig(
          { opensearch: { username: 'u', password: PASSWORD, host: `https://u:${PASSWORD}@os` } },
          {},
        ),
      ).message,
      invalid(() => resolveConfig({}, { AUDIT_OPENSEARCH_HOST: 'https://u:other-secret@os' })).message,
    ];
    expect(messages[0]).toBe(
      'AUDIT_OPENSEARCH_PASSWORD must be a non-empty string of at most 1000 characters, got an empty string',
    );
    expect(messages[1]).toContain('got a number (value hidden)');
    for (const m of messages) expect(m).not.toContain(PASSWORD);
    expect(messages.at(-1)).not.toContain('other-secret');
  });

  it('is replaced by *** in describeConfig', () => {
    const c = resolveConfig(
      {},
      { AUDIT_OPENSEARCH_USERNAME: 'audit_writer', AUDIT_OPENSEARCH_PASSWORD: PASSWORD },
    );
    const d = describeConfig(c);
    expect(JSON.stringify(d)).not.toContain(PASSWORD);
    expect(d.opensearch).toMatchObject({ username: 'audit_writer', password: '***' });
    expect(d.batchSize).toBe(500);
    expect(c.opensearch.password).toBe(PASSWORD); // the config itself keeps it for the client
    expect(
      (describeConfig(resolveConfig({}, {})).opensearch as { password?: string }).password,
    ).toBeUndefined();
  });
});

describe('captureDisabled', () => {
  it('is true for the two rollback switches of the deployment guide', () => {
    expect(captureDisabled(resolveConfig({}, {}))).toBe(false);
    expect(captureDisabled(resolveConfig({}, { AUDIT_ENABLED: 'false' }))).toBe(true);
    expect(captureDisabled(resolveConfig({}, { AUDIT_EXCLUDED_PATHS: '/*' }))).toBe(true);
    expect(captureDisabled(resolveConfig({}, { AUDIT_EXCLUDED_PATHS: '/health,/*' }))).toBe(true);
    expect(captureDisabled(resolveConfig({}, { AUDIT_EXCLUDED_PATHS: '/health,/accounts/*' }))).toBe(false);
  });
});
