// Every setting in one table (option, variable, parser, default, description). Resolution,
// validation, the startup log line and docs/CONFIGURATION.md all walk it, so a new setting is
// one row.
import { resolve } from 'node:path';
import type { AuditOptions, OpenSearchOptions } from './options.js';
import {
  boolean,
  decimal,
  directory,
  failureMode,
  hostList,
  indexName,
  integer,
  keyList,
  type Parser,
  pathList,
  patternList,
  readableFile,
  rotation,
  signingKeyFile,
  text,
  urlList,
} from './parsers.js';

type TopKey = Exclude<keyof AuditOptions, 'opensearch'>;
type OptionPath = TopKey | `opensearch.${keyof OpenSearchOptions}`;
type Fallback<T> = T | ((resolved: Readonly<Record<string, unknown>>) => T);

export interface Spec {
  readonly option: OptionPath;
  /** undefined: an option for code only, whose value cannot be written in a variable. */
  readonly env: string | undefined;
  readonly parser: Parser<unknown>;
  readonly fallback: Fallback<unknown>;
  readonly docDefault: string;
  readonly description: string;
  readonly secret: boolean;
}

function spec<T>(
  option: OptionPath,
  env: string | undefined,
  parser: Parser<T>,
  fallback: Fallback<T>,
  description: string,
  extra: { docDefault?: string; secret?: boolean } = {},
): Spec {
  const docDefault =
    extra.docDefault ??
    (fallback === undefined ? 'unset' : Array.isArray(fallback) ? 'none' : String(fallback));
  return { option, env, parser, fallback, docDefault, description, secret: extra.secret ?? false };
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const ringDefault = (r: Readonly<Record<string, unknown>>) =>
  Math.max(65536, Math.min(Number(r.maxQueueSize) * 1024, GiB));
const spoolDefault = () => resolve(process.cwd(), '.audit-spool');

// biome-ignore format: a table reads best aligned
export const specs: readonly Spec[] = [
  spec('enabled',                   'AUDIT_ENABLED',                  boolean,                  true,          'capture on or off'),
  spec('serviceName',               'AUDIT_SERVICE_NAME',             indexName,                'api',         'service name on every event and in index names'),
  spec('environment',               'AUDIT_ENVIRONMENT',              text(100),                'development', 'environment name on every event'),
  spec('serviceVersion',            'AUDIT_SERVICE_VERSION',          text(100),                '0.0.0',       'service version on every event'),
  spec('opensearch.url',            'AUDIT_OPENSEARCH_URL',           urlList,                  undefined,     'OpenSearch node URLs, instead of AUDIT_OPENSEARCH_HOST/PORT (both in env or both in code: an error; code wins over env); the scheme decides TLS'),
  spec('opensearch.host',           'AUDIT_OPENSEARCH_HOST',          hostList,                 undefined,     'OpenSearch host, or a comma-separated list of host[:port] for a cluster; unset (and no AUDIT_OPENSEARCH_URL): no OpenSearch'),
  spec('opensearch.port',           'AUDIT_OPENSEARCH_PORT',          integer(1, 65535),        9200,          'OpenSearch port of the AUDIT_OPENSEARCH_HOST entries that name none'),
  spec('opensearch.username',       'AUDIT_OPENSEARCH_USERNAME',      text(1000),               undefined,     'basic-auth user'),
  spec('opensearch.password',       'AUDIT_OPENSEARCH_PASSWORD',      text(1000),               undefined,     'basic-auth password, needs a username, never logged', { secret: true }),
  spec('opensearch.useSsl',         'AUDIT_OPENSEARCH_USE_SSL',       boolean,                  false,         'connect to AUDIT_OPENSEARCH_HOST with https (with a URL the scheme decides, and a contradicting value is an error)'),
  spec('opensearch.verifyCerts',    'AUDIT_OPENSEARCH_VERIFY_CERTS',  boolean,                  true,          'verify the server certificate'),
  spec('opensearch.caCerts',        'AUDIT_OPENSEARCH_CA_CERTS',      readableFile,             undefined,     'CA bundle (PEM) to verify the server with'),
  spec('opensearch.timeoutSeconds', 'AUDIT_OPENSEARCH_TIMEOUT',       decimal(0, 600, true),    30,            'request timeout, seconds'),
  spec('opensearch.sniff',          'AUDIT_OPENSEARCH_SNIFF',         boolean,                  false,         'discover the cluster\'s nodes and spread requests over all of them (off: only the configured nodes, as behind a load balancer)'),
  spec('batchSize',                 'AUDIT_BATCH_SIZE',               integer(1, 100_000),      500,           'events per bulk request'),
  spec('flushIntervalSeconds',      'AUDIT_FLUSH_INTERVAL_SECONDS',   decimal(0, 3600, true),   10,            'longest wait before a partial batch is sent, seconds'),
  spec('maxBodySize',               'AUDIT_MAX_BODY_SIZE',            integer(0, 16 * MiB),     20480,         'request body bytes kept per event'),
  spec('maxQueueSize',              'AUDIT_MAX_QUEUE_SIZE',           integer(1, 10_000_000),   50000,         'events held in memory before new ones are dropped'),
  spec('excludedPaths',             'AUDIT_EXCLUDED_PATHS',           pathList,                 [],            'path globs not audited'),
  spec('failureMode',               'AUDIT_FAILURE_MODE',             failureMode,              'open',        'open: a request goes on when its event cannot be kept (the event is dropped and counted); closed: such a request is answered 503 before its handler runs'),
  spec('durablePaths',              'AUDIT_DURABLE_PATHS',            pathList,                 [],            'path globs whose handlers run only once an intent event is durable (in OpenSearch or synced in the spool); auditAs({ durable: true }) does the same per route'),
  spec('durableTimeoutMs',          'AUDIT_DURABLE_TIMEOUT_MS',       integer(1, 600_000),      2000,          'longest wait for an intent event to be durable before the request is answered 503, ms'),
  spec('indexPrefix',               'AUDIT_INDEX_PREFIX',             indexName,                'audit',       'first part of index names'),
  spec('indexRotation',             'AUDIT_INDEX_ROTATION',           rotation,                 'daily',       'how often a new index starts'),
  spec('retryAttempts',             'AUDIT_RETRY_ATTEMPTS',           integer(0, 100),          3,             'retries of a failed bulk request'),
  spec('retryBackoffSeconds',       'AUDIT_RETRY_BACKOFF_SECONDS',    decimal(0, 3600, false),  2,             'first retry delay, seconds'),
  spec('retryBackoffMultiplier',    'AUDIT_RETRY_BACKOFF_MULTIPLIER', decimal(1, 100, false),   2,             'delay factor per retry'),
  spec('workers',                   'AUDIT_WORKERS',                  integer(1, 64),           1,             'worker threads sending to OpenSearch'),
  spec('spoolDir',                  'AUDIT_SPOOL_DIR',                directory,                spoolDefault,  'where events wait while OpenSearch is down or not configured, and dead letters are kept', { docDefault: './.audit-spool' }),
  spec('ringBytes',                 'AUDIT_RING_BYTES',               integer(65536, 2 * GiB),  ringDefault,   'shared ring buffer size, bytes', { docDefault: 'min(maxQueueSize × 1024, 1 GiB)' }),
  spec('batchBytes',                'AUDIT_BATCH_BYTES',              integer(1024, 100 * MiB), 5242880,       'uncompressed bytes per bulk request'),
  spec('indexShards',               'AUDIT_INDEX_SHARDS',             integer(1, 1024),         5,             'primary shards in the index template'),
  spec('indexReplicas',             'AUDIT_INDEX_REPLICAS',           integer(0, 16),           1,             'replicas in the index template'),
  spec('installTemplate',           'AUDIT_INSTALL_TEMPLATE',         boolean,                  true,          'install the index template before the first write to each new index'),
  spec('closeTimeoutSeconds',       'AUDIT_CLOSE_TIMEOUT_SECONDS',    decimal(0, 3600, true),   30,            'longest wait for pending events at close, seconds'),
  spec('spoolMaxBytes',             'AUDIT_SPOOL_MAX_BYTES',          integer(MiB, 1024 * GiB), GiB,           'largest size of the spool on disk, bytes; what does not fit is dropped (spool_full)', { docDefault: '1 GiB' }),
  spec('breakerFailures',           'AUDIT_BREAKER_FAILURES',         integer(1, 1000),         5,             'consecutive failed bulk requests that open the circuit breaker'),
  spec('breakerCooldownSeconds',    'AUDIT_BREAKER_COOLDOWN_SECONDS', decimal(0, 3600, true),   30,            'how long the breaker stays open before one probe request, seconds'),
  spec('handleSignals',             'AUDIT_HANDLE_SIGNALS',           boolean,                  false,         'on SIGTERM/SIGINT, close() (drain to OpenSearch or the spool) before the process exits'),
  spec('checkpointIntervalSeconds', 'AUDIT_CHECKPOINT_INTERVAL_SECONDS', decimal(0, 86400, true), 60,     'how often each hash chain gets a checkpoint (its head, signed with AUDIT_SIGNING_KEY_FILE), seconds; also at close'),
  spec('signingKeyFile',            'AUDIT_SIGNING_KEY_FILE',         signingKeyFile,           undefined,     'Ed25519 private key (PEM) that signs the checkpoints; unset: checkpoints are unsigned, and verify says so'),
  spec('checkpointDir',             'AUDIT_CHECKPOINT_DIR',           directory,                undefined,     'also append every checkpoint to files here (keep them outside the cluster\'s trust domain); unset: only the checkpoint index'),
  spec('redactKeys',                'AUDIT_REDACT_KEYS',              keyList,                  [],            'keys redacted on top of the built-in list'),
  spec('redactPatterns',            undefined,                        patternList,              [],            'extra secret patterns redacted in every string'),
];

/** Every environment variable, its option, its default and what it accepts (docs/CONFIGURATION.md is generated from it). */
export const envVariables: ReadonlyArray<{
  env: string;
  option: string;
  default: string;
  description: string;
}> = Object.freeze(
  specs.flatMap((s) =>
    s.env === undefined
      ? []
      : Object.freeze({
          env: s.env,
          option: s.option,
          default: s.docDefault,
          description: `${s.description}; ${s.parser.expected}`,
        }),
  ),
);
