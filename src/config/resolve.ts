// Options and AUDIT_* environment variables, resolved once at start. One table below lists every
// setting (option, variable, parser, default); resolution, validation, the README test and the
// log line all walk that table, so a new setting is one row. Code options win over the environment.
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { inspect } from 'node:util';
import { AuditError } from '../errors.js';
import { compileSecretPattern } from '../redact/rules.js';

export type IndexRotation = 'daily' | 'weekly' | 'monthly';

export interface OpenSearchOptions {
  /** Hostname or IP address, no scheme, no port. `AUDIT_OPENSEARCH_HOST`; default unset (no OpenSearch). */
  host?: string;
  /** `AUDIT_OPENSEARCH_PORT`, 1..65535; default 9200. */
  port?: number;
  /** `AUDIT_OPENSEARCH_USERNAME`; default unset. */
  username?: string;
  /** `AUDIT_OPENSEARCH_PASSWORD`; default unset; needs a username. Never logged. */
  password?: string;
  /** `AUDIT_OPENSEARCH_USE_SSL`; default false. */
  useSsl?: boolean;
  /** `AUDIT_OPENSEARCH_VERIFY_CERTS`; default true. */
  verifyCerts?: boolean;
  /** Path of a readable CA bundle (PEM). `AUDIT_OPENSEARCH_CA_CERTS`; default unset. */
  caCerts?: string;
  /** Request timeout in seconds, > 0 and ≤ 600. `AUDIT_OPENSEARCH_TIMEOUT`; default 30. */
  timeoutSeconds?: number;
}

/**
 * Settings for `createAudit()`. Every field is optional and falls back to its `AUDIT_*` variable,
 * then to its default.
 *
 * @example
 * resolveConfig({ serviceName: 'billing', opensearch: { host: 'opensearch.internal', useSsl: true } });
 */
export interface AuditOptions {
  /** Capture on or off. `AUDIT_ENABLED`; default true. */
  enabled?: boolean;
  /** Service name, usable in an index name. `AUDIT_SERVICE_NAME`; default 'api'. */
  serviceName?: string;
  /** `AUDIT_ENVIRONMENT`; default 'development'. */
  environment?: string;
  /** `AUDIT_SERVICE_VERSION`; default '0.0.0'. */
  serviceVersion?: string;
  /** Connection to OpenSearch; each field has its own `AUDIT_OPENSEARCH_*` variable. */
  opensearch?: OpenSearchOptions;
  /** Events per bulk request, 1..100000. `AUDIT_BATCH_SIZE`; default 500. */
  batchSize?: number;
  /** Longest wait before a partial batch is sent, seconds. `AUDIT_FLUSH_INTERVAL_SECONDS`; default 10. */
  flushIntervalSeconds?: number;
  /** Request/response body bytes kept per event, 0..16777216. `AUDIT_MAX_BODY_SIZE`; default 20480. */
  maxBodySize?: number;
  /** Events held in memory before new ones are dropped. `AUDIT_MAX_QUEUE_SIZE`; default 50000. */
  maxQueueSize?: number;
  /** Path globs not audited, each starting with '/'. `AUDIT_EXCLUDED_PATHS` (comma list); default []. */
  excludedPaths?: readonly string[];
  /** First part of index names. `AUDIT_INDEX_PREFIX`; default 'audit'. */
  indexPrefix?: string;
  /** `AUDIT_INDEX_ROTATION`; default 'daily'. */
  indexRotation?: IndexRotation;
  /** Retries of a failed bulk request, 0..100. `AUDIT_RETRY_ATTEMPTS`; default 3. */
  retryAttempts?: number;
  /** First retry delay, seconds. `AUDIT_RETRY_BACKOFF_SECONDS`; default 2. */
  retryBackoffSeconds?: number;
  /** Delay factor per retry, 1..100. `AUDIT_RETRY_BACKOFF_MULTIPLIER`; default 2. */
  retryBackoffMultiplier?: number;
  /** Worker threads sending to OpenSearch, 1..64. `AUDIT_WORKERS`; default 1. */
  workers?: number;
  /** Directory for events OpenSearch could not take yet. `AUDIT_SPOOL_DIR`; default `<cwd>/.audit-spool`. */
  spoolDir?: string;
  /** Shared ring buffer bytes. `AUDIT_RING_BYTES`; default min(maxQueueSize × 1024, 1 GiB), ≥ 65536. */
  ringBytes?: number;
  /** Uncompressed bytes per bulk request, 1024..104857600. `AUDIT_BATCH_BYTES`; default 5242880. */
  batchBytes?: number;
  /** Primary shards in the index template, 1..1024. `AUDIT_INDEX_SHARDS`; default 5. */
  indexShards?: number;
  /** Replicas in the index template, 0..16. `AUDIT_INDEX_REPLICAS`; default 1. */
  indexReplicas?: number;
  /** Install the index template at start. `AUDIT_INSTALL_TEMPLATE`; default true. */
  installTemplate?: boolean;
  /** Longest wait for pending events at close, seconds. `AUDIT_CLOSE_TIMEOUT_SECONDS`; default 30. */
  closeTimeoutSeconds?: number;
  /** AUDIT_SPOOL_MAX_BYTES: largest size of the spool on disk (1 GiB). */
  spoolMaxBytes?: number;
  /** AUDIT_BREAKER_FAILURES: consecutive failed bulk requests that open the breaker (5). */
  breakerFailures?: number;
  /** AUDIT_BREAKER_COOLDOWN_SECONDS: seconds the breaker stays open before a probe (30). */
  breakerCooldownSeconds?: number;
  /** AUDIT_HANDLE_SIGNALS: close() on SIGTERM/SIGINT before the process exits (false). */
  handleSignals?: boolean;
  /**
   * Keys whose values are redacted, on top of the built-in list (password, token, api_key, cookie,
   * card_number, ...). Matched case-insensitively and ignoring `-`/`_`; a name of five characters
   * or more also matches inside a longer key (`email` redacts `user_email`). `AUDIT_REDACT_KEYS`
   * (comma list); default [].
   */
  redactKeys?: readonly string[];
  /**
   * Extra secret shapes redacted wherever a string appears, on top of the built-in patterns (JWTs,
   * bearer tokens, cloud keys, card numbers, ...). RegExp objects or their sources (a string, or
   * `/source/flags`); checked at start, compiled in the worker threads. Only the match is replaced:
   * use lookbehind/lookahead for context to keep, and avoid nested quantifiers (`(a+)+`), which
   * can make a scan slow. Code only (no variable); default [].
   */
  redactPatterns?: readonly (RegExp | string)[];
}

export interface OpenSearchConfig {
  readonly host: string | undefined;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly useSsl: boolean;
  readonly verifyCerts: boolean;
  readonly caCerts: string | undefined;
  readonly timeoutSeconds: number;
  /** `http[s]://host:port`, or undefined when no host is configured. */
  readonly url: string | undefined;
}

/** The resolved settings: every field present, validated, and deeply frozen. */
export interface AuditConfig {
  readonly enabled: boolean;
  readonly serviceName: string;
  readonly environment: string;
  readonly serviceVersion: string;
  readonly opensearch: OpenSearchConfig;
  readonly batchSize: number;
  readonly flushIntervalSeconds: number;
  readonly maxBodySize: number;
  readonly maxQueueSize: number;
  readonly excludedPaths: readonly string[];
  readonly indexPrefix: string;
  readonly indexRotation: IndexRotation;
  readonly retryAttempts: number;
  readonly retryBackoffSeconds: number;
  readonly retryBackoffMultiplier: number;
  readonly workers: number;
  readonly spoolDir: string;
  readonly ringBytes: number;
  readonly batchBytes: number;
  readonly indexShards: number;
  readonly indexReplicas: number;
  readonly installTemplate: boolean;
  readonly closeTimeoutSeconds: number;
  readonly spoolMaxBytes: number;
  readonly breakerFailures: number;
  readonly breakerCooldownSeconds: number;
  readonly handleSignals: boolean;
  readonly redactKeys: readonly string[];
  /** Pattern sources (`/source/flags`), compiled by the workers' Sanitizer: a RegExp does not cross threads. */
  readonly redactPatterns: readonly string[];
}

// ---- parsers: each turns an env string or a code value into a value, or INVALID ----

const INVALID = Symbol('invalid');
type Parsed<T> = T | typeof INVALID;

interface Parser<T> {
  readonly expected: string;
  readonly fromEnv: (raw: string) => Parsed<T>;
  readonly fromCode: (value: unknown) => Parsed<T>;
}

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

function integer(min: number, max: number): Parser<number> {
  const check = (n: number) => (Number.isSafeInteger(n) && n >= min && n <= max ? n : INVALID);
  return {
    expected: `an integer from ${min} to ${max}`,
    fromEnv: (raw) => (INTEGER.test(raw) ? check(Number(raw)) : INVALID),
    fromCode: (v) => (typeof v === 'number' ? check(v) : INVALID),
  };
}

/** A finite number in (min, max] when `exclusiveMin`, else in [min, max]. */
function decimal(min: number, max: number, exclusiveMin: boolean): Parser<number> {
  const check = (n: number) =>
    Number.isFinite(n) && (exclusiveMin ? n > min : n >= min) && n <= max ? n : INVALID;
  return {
    expected: exclusiveMin
      ? `a number greater than ${min} and at most ${max}`
      : `a number from ${min} to ${max}`,
    fromEnv: (raw) => (DECIMAL.test(raw) ? check(Number(raw)) : INVALID),
    fromCode: (v) => (typeof v === 'number' ? check(v) : INVALID),
  };
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

const boolean: Parser<boolean> = {
  expected: 'true or false, or 1/0, yes/no, on/off',
  fromEnv: (raw) => {
    const s = raw.toLowerCase();
    return TRUE.has(s) ? true : FALSE.has(s) ? false : INVALID;
  },
  fromCode: (v) => (typeof v === 'boolean' ? v : INVALID),
};

/** A string parser; env and code values go through the same check. */
function string(expected: string, check: (s: string) => string | typeof INVALID): Parser<string> {
  return { expected, fromEnv: check, fromCode: (v) => (typeof v === 'string' ? check(v) : INVALID) };
}

const text = (max: number) =>
  string(`a non-empty string of at most ${max} characters`, (s) =>
    s.length > 0 && s.length <= max ? s : INVALID,
  );

// OpenSearch index names are lowercase and may not start with '-', '_' or '+'.
const INDEX_NAME = /^[a-z0-9][a-z0-9_-]{0,99}$/;
const indexName = string(
  '1 to 100 lowercase letters, digits, "-" or "_", not starting with "-" or "_"',
  (s) => (INDEX_NAME.test(s) ? s : INVALID),
);

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;
const host = string('a hostname or IP address without scheme or port', (s) => {
  const bracketed = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : undefined;
  if (bracketed !== undefined) return isIP(bracketed) === 6 ? bracketed : INVALID;
  if (isIP(s) !== 0) return s;
  if (/^[\d.]+$/.test(s) || s.length > 253) return INVALID; // digits only: a malformed IPv4
  return s.split('.').every((label) => LABEL.test(label)) ? s : INVALID;
});

const readableFile = string('the path of a readable file', (s) => {
  if (s.length === 0) return INVALID;
  try {
    accessSync(s, constants.R_OK);
    return statSync(s).isFile() ? s : INVALID;
  } catch {
    return INVALID;
  }
});

const directory = string('a non-empty path', (s) => (s.length > 0 ? resolve(process.cwd(), s) : INVALID));

function oneOf<T extends string>(...values: T[]): Parser<T> {
  const check = (v: unknown) => (values.includes(v as T) ? (v as T) : INVALID);
  return { expected: `one of ${values.join(', ')}`, fromEnv: check, fromCode: check };
}

const pathList: Parser<readonly string[]> = {
  expected: 'a comma-separated list of paths, each starting with "/"',
  fromEnv: (raw) => {
    const list = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    return list.every((p) => p.startsWith('/')) ? list : INVALID;
  },
  fromCode: (v) =>
    Array.isArray(v) && v.every((p) => typeof p === 'string' && p.startsWith('/')) ? [...v] : INVALID,
};

const rotation = oneOf<IndexRotation>('daily', 'weekly', 'monthly');

const KEY_NAME = /^[^\s,]{1,100}$/;
const keyList: Parser<readonly string[]> = {
  expected: 'a comma-separated list of key names, each 1 to 100 characters without spaces',
  fromEnv: (raw) => {
    const list = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    return list.every((k) => KEY_NAME.test(k)) ? list : INVALID;
  },
  fromCode: (v) =>
    Array.isArray(v) && v.every((k) => typeof k === 'string' && KEY_NAME.test(k)) ? [...v] : INVALID,
};

/** RegExp objects or sources that compile and cannot match the empty string, kept as `/source/flags`. */
const patternList: Parser<readonly string[]> = {
  expected:
    'an array of regular expressions (RegExp objects or source strings) that compile and do not match the empty string',
  fromEnv: () => INVALID,
  fromCode: (v) => {
    if (!Array.isArray(v)) return INVALID;
    const out: string[] = [];
    for (const p of v) {
      if (typeof p !== 'string' && !(p instanceof RegExp)) return INVALID;
      try {
        const re = compileSecretPattern(p);
        out.push(`/${re.source}/${re.flags}`);
      } catch {
        return INVALID;
      }
    }
    return out;
  },
};

// ---- the table ----

type TopKey = Exclude<keyof AuditOptions, 'opensearch'>;
type OptionPath = TopKey | `opensearch.${keyof OpenSearchOptions}`;
type Fallback<T> = T | ((resolved: Readonly<Record<string, unknown>>) => T);

interface Spec {
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
const specs: readonly Spec[] = [
  spec('enabled',                   'AUDIT_ENABLED',                  boolean,                  true,          'capture on or off'),
  spec('serviceName',               'AUDIT_SERVICE_NAME',             indexName,                'api',         'service name on every event and in index names'),
  spec('environment',               'AUDIT_ENVIRONMENT',              text(100),                'development', 'environment name on every event'),
  spec('serviceVersion',            'AUDIT_SERVICE_VERSION',          text(100),                '0.0.0',       'service version on every event'),
  spec('opensearch.host',           'AUDIT_OPENSEARCH_HOST',          host,                     undefined,     'OpenSearch host; unset: no OpenSearch'),
  spec('opensearch.port',           'AUDIT_OPENSEARCH_PORT',          integer(1, 65535),        9200,          'OpenSearch port'),
  spec('opensearch.username',       'AUDIT_OPENSEARCH_USERNAME',      text(1000),               undefined,     'basic-auth user'),
  spec('opensearch.password',       'AUDIT_OPENSEARCH_PASSWORD',      text(1000),               undefined,     'basic-auth password, needs a username, never logged', { secret: true }),
  spec('opensearch.useSsl',         'AUDIT_OPENSEARCH_USE_SSL',       boolean,                  false,         'connect with https'),
  spec('opensearch.verifyCerts',    'AUDIT_OPENSEARCH_VERIFY_CERTS',  boolean,                  true,          'verify the server certificate'),
  spec('opensearch.caCerts',        'AUDIT_OPENSEARCH_CA_CERTS',      readableFile,             undefined,     'CA bundle (PEM) to verify the server with'),
  spec('opensearch.timeoutSeconds', 'AUDIT_OPENSEARCH_TIMEOUT',       decimal(0, 600, true),    30,            'request timeout, seconds'),
  spec('batchSize',                 'AUDIT_BATCH_SIZE',               integer(1, 100_000),      500,           'events per bulk request'),
  spec('flushIntervalSeconds',      'AUDIT_FLUSH_INTERVAL_SECONDS',   decimal(0, 3600, true),   10,            'longest wait before a partial batch is sent, seconds'),
  spec('maxBodySize',               'AUDIT_MAX_BODY_SIZE',            integer(0, 16 * MiB),     20480,         'request/response body bytes kept per event'),
  spec('maxQueueSize',              'AUDIT_MAX_QUEUE_SIZE',           integer(1, 10_000_000),   50000,         'events held in memory before new ones are dropped'),
  spec('excludedPaths',             'AUDIT_EXCLUDED_PATHS',           pathList,                 [],            'path globs not audited'),
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
  spec('redactKeys',                'AUDIT_REDACT_KEYS',              keyList,                  [],            'keys redacted on top of the built-in list'),
  spec('redactPatterns',            undefined,                        patternList,              [],            'extra secret patterns redacted in every string'),
];

/** Every environment variable, its option, its default and what it accepts (the README table). */
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

// ---- resolution ----

const topKeys = new Set<string>(['opensearch']);
const opensearchKeys = new Set<string>();
for (const s of specs) {
  if (s.option.startsWith('opensearch.')) opensearchKeys.add(s.option.slice('opensearch.'.length));
  else topKeys.add(s.option);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKeys(obj: Record<string, unknown>, known: Set<string>, prefix: string): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(obj)) {
    if (known.has(key)) continue;
    const near = [...known].find((k) => k.toLowerCase() === key.toLowerCase());
    problems.push(`unknown option "${prefix}${key}"${near ? ` (did you mean "${prefix}${near}"?)` : ''}`);
  }
  return problems;
}

// Credentials in a URL someone put where a host belongs would otherwise be echoed into the log.
const USERINFO = /\/\/[^/@\s]*@/g;

function show(value: unknown, secret: boolean): string {
  if (secret) {
    const type = typeof value;
    return value === '' ? 'an empty string' : `${type === 'object' ? 'an' : 'a'} ${type} (value hidden)`;
  }
  const s = typeof value === 'string' ? JSON.stringify(value) : inspect(value, { breakLength: Infinity });
  return (s.length > 200 ? `${s.slice(0, 200)}…` : s).replace(USERINFO, '//***@');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Resolves options and `AUDIT_*` variables into one validated, deeply frozen config. A code option
 * wins over its variable; an option set to `undefined` counts as not given.
 *
 * @throws AuditError `AUDIT_ERR_INVALID_OPTION` naming every wrong value and unknown option.
 * @example
 * const config = resolveConfig({ batchSize: 1000 }); // the rest from process.env or defaults
 */
export function resolveConfig(options: AuditOptions = {}, env: NodeJS.ProcessEnv = process.env): AuditConfig {
  if (!isObject(options)) {
    throw new AuditError(
      'AUDIT_ERR_INVALID_OPTION',
      `options must be an object, got ${show(options, false)}`,
    );
  }
  const problems = unknownKeys(options, topKeys, '');
  let nested: Record<string, unknown> = {};
  if (isObject(options.opensearch)) {
    nested = options.opensearch;
    problems.push(...unknownKeys(nested, opensearchKeys, 'opensearch.'));
  } else if (options.opensearch !== undefined) {
    problems.push(`opensearch must be an object, got ${show(options.opensearch, false)}`);
  }

  const values: Record<string, unknown> = {};
  const source: Record<string, string> = {};
  for (const s of specs) {
    const fromCode = s.option.startsWith('opensearch.')
      ? nested[s.option.slice('opensearch.'.length)]
      : (options as Record<string, unknown>)[s.option];
    const raw = s.env === undefined ? undefined : env[s.env];
    let value: unknown;
    if (fromCode !== undefined) {
      value = s.parser.fromCode(fromCode);
      source[s.option] = s.option;
    } else if (raw !== undefined) {
      value = s.parser.fromEnv(raw);
      source[s.option] = s.env ?? s.option;
    }
    if (value === INVALID) {
      const got = show(fromCode !== undefined ? fromCode : raw, s.secret);
      problems.push(`${source[s.option]} must be ${s.parser.expected}, got ${got}`);
    }
    if (value === undefined || value === INVALID) {
      value = typeof s.fallback === 'function' ? s.fallback(values) : s.fallback;
    }
    values[s.option] = value;
  }
  if (values['opensearch.password'] !== undefined && values['opensearch.username'] === undefined) {
    problems.push(
      `${source['opensearch.password']} is set but neither AUDIT_OPENSEARCH_USERNAME nor opensearch.username is`,
    );
  }
  if (problems.length > 0) {
    // A password pasted into the wrong variable must not reach the log either.
    let message = problems.join('; ');
    for (const secret of [env.AUDIT_OPENSEARCH_PASSWORD, nested.password]) {
      if (typeof secret === 'string' && secret.length > 0) message = message.replaceAll(secret, '***');
    }
    throw new AuditError('AUDIT_ERR_INVALID_OPTION', message);
  }

  const config: Record<string, unknown> = {};
  const opensearch: Record<string, unknown> = {};
  for (const s of specs) {
    if (s.option.startsWith('opensearch.'))
      opensearch[s.option.slice('opensearch.'.length)] = values[s.option];
    else config[s.option] = values[s.option];
    if (s.option === 'serviceVersion') config.opensearch = opensearch; // keep the table's order
  }
  const h = opensearch.host as string | undefined;
  opensearch.url =
    h === undefined
      ? undefined
      : `${opensearch.useSsl ? 'https' : 'http'}://${isIP(h) === 6 ? `[${h}]` : h}:${opensearch.port}`;
  return deepFreeze(config as unknown as AuditConfig);
}

/**
 * The effective settings for the "Audit system initialized" log line: the config with the password
 * replaced by '***'.
 *
 * @example
 * logger.info(describeConfig(config), 'Audit system initialized');
 */
export function describeConfig(config: AuditConfig): Record<string, unknown> {
  const { password, ...opensearch } = config.opensearch;
  return {
    ...config,
    opensearch: { ...opensearch, password: password === undefined ? undefined : '***' },
    excludedPaths: [...config.excludedPaths],
  };
}

/**
 * True when nothing is to be captured: `AUDIT_ENABLED=false` or an excluded path of `/*`, the
 * deployment guide's two rollback switches.
 */
export function captureDisabled(config: AuditConfig): boolean {
  return !config.enabled || config.excludedPaths.some((p) => /^\/\*+$/.test(p));
}
