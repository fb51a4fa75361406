// What users write (AuditOptions, OpenSearchOptions) and what the library runs with (AuditConfig,
// resolved and frozen by resolveConfig()).

export type IndexRotation = 'daily' | 'weekly' | 'monthly';

/** AUDIT_FAILURE_MODE: whether a request goes on (`open`) or is refused (`closed`) when its event cannot be kept. */
export type FailureMode = 'open' | 'closed';

/**
 * Where and how to reach OpenSearch. Each field falls back to its `AUDIT_OPENSEARCH_*` variable.
 * The address is given one of two ways: `url`, or `host` and `port`.
 *
 * @example
 * await createAudit({ opensearch: { url: 'https://opensearch.internal:9200', caCerts: '/etc/ca.pem' } });
 * await createAudit({ opensearch: { host: 'opensearch.internal', useSsl: true, caCerts: '/etc/ca.pem' } });
 */
export interface OpenSearchOptions {
  /**
   * The nodes' URLs: one, several comma-separated, or an array (the client spreads requests over
   * them). `http://` or `https://`, a host and an optional port (default 80 or 443, as in any URL);
   * no path, no query, and no credentials (they would be logged: use `username` and `password`).
   * The scheme decides TLS, and all nodes share one. `AUDIT_OPENSEARCH_URL`; default unset.
   *
   * The other way to give the address is `host` and `port`. Both ways at the same level (both in
   * code, or both in the environment) is `AUDIT_ERR_INVALID_OPTION` naming both; an address in
   * code replaces one in the environment, as every code option wins over its variable.
   *
   * @example
   * await createAudit({ opensearch: { url: 'http://127.0.0.1:9250' } });
   * await createAudit({ opensearch: { url: ['https://os-1:9200', 'https://os-2:9200'], username: 'audit_writer', password } });
   */
  url?: string | readonly string[];
  /**
   * Hostname or IP address, no scheme: one, as the deployment guide sets it, or several for a
   * cluster (`'os-1,os-2:9201,[::1]:9200'` or an array), each with an optional port; the client
   * spreads requests over them and skips a dead one. `AUDIT_OPENSEARCH_HOST`; default unset (no
   * OpenSearch).
   * @example
   * await createAudit({ opensearch: { host: 'os-1,os-2,os-3', useSsl: true, username: 'audit_writer', password } });
   */
  host?: string | readonly string[];
  /** Port of the `host` entries that name none. `AUDIT_OPENSEARCH_PORT`, 1..65535; default 9200. */
  port?: number;
  /** `AUDIT_OPENSEARCH_USERNAME`; default unset. */
  username?: string;
  /** `AUDIT_OPENSEARCH_PASSWORD`; default unset; needs a username. Never logged. */
  password?: string;
  /** https to `host`. `AUDIT_OPENSEARCH_USE_SSL`; default false. With `url`, the scheme decides, and a value that disagrees is an error. */
  useSsl?: boolean;
  /** `AUDIT_OPENSEARCH_VERIFY_CERTS`; default true. */
  verifyCerts?: boolean;
  /** Path of a readable CA bundle (PEM). `AUDIT_OPENSEARCH_CA_CERTS`; default unset. */
  caCerts?: string;
  /** Request timeout in seconds, > 0 and ≤ 600. `AUDIT_OPENSEARCH_TIMEOUT`; default 30. */
  timeoutSeconds?: number;
  /**
   * Ask the cluster for its nodes (at start, every minute and after a connection fault) and spread
   * requests over all of them, not only the configured ones. Off by default: behind a load balancer
   * or in containers the addresses nodes publish are often not reachable from the app.
   * `AUDIT_OPENSEARCH_SNIFF`; default false.
   */
  sniff?: boolean;
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
  /** Request body bytes kept per event, 0..16777216. `AUDIT_MAX_BODY_SIZE`; default 20480. */
  maxBodySize?: number;
  /** Events held in memory before new ones are dropped. `AUDIT_MAX_QUEUE_SIZE`; default 50000. */
  maxQueueSize?: number;
  /** Path globs not audited, each starting with '/'. `AUDIT_EXCLUDED_PATHS` (comma list); default []. */
  excludedPaths?: readonly string[];
  /**
   * What a request meets when its event cannot be kept (the ring full, or OpenSearch down and the
   * spool full or unwritable). `'open'` (default): it goes on, and the event is dropped and
   * counted. `'closed'`: it is answered 503 with `Retry-After` and `AUDIT_ERR_UNAVAILABLE` before
   * its handler runs, and counted in `audit_requests_refused_total`. `AUDIT_FAILURE_MODE`.
   */
  failureMode?: FailureMode;
  /**
   * Path globs (like excludedPaths) whose handlers run only once an intent event (phase
   * `received`) is durable: acknowledged by OpenSearch or synced in the spool; else 503.
   * `AUDIT_DURABLE_PATHS`; default []. Per route: `auditAs({ durable: true })`.
   */
  durablePaths?: readonly string[];
  /** Longest wait for an intent to be durable, ms. `AUDIT_DURABLE_TIMEOUT_MS`; default 2000. */
  durableTimeoutMs?: number;
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
  /** AUDIT_CHECKPOINT_INTERVAL_SECONDS: how often each hash chain gets a checkpoint (60). */
  checkpointIntervalSeconds?: number;
  /** AUDIT_SIGNING_KEY_FILE: the Ed25519 private key (PEM) that signs checkpoints; unset: unsigned. */
  signingKeyFile?: string;
  /** AUDIT_CHECKPOINT_DIR: a directory where checkpoints are also appended to files; unset: none. */
  checkpointDir?: string;
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
  /** The (first) host, or with `url` the first node's host. */
  readonly host: string | undefined;
  /** The port, or with `url` the first node's port. */
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly useSsl: boolean;
  readonly verifyCerts: boolean;
  readonly caCerts: string | undefined;
  readonly timeoutSeconds: number;
  readonly sniff: boolean;
  /** The nodes as `http[s]://host:port`, comma-separated; undefined when no OpenSearch is configured. */
  readonly url: string | undefined;
  /** The nodes as `http[s]://host:port`, for the client's connection pool; empty without OpenSearch. */
  readonly nodes: readonly string[];
}

/**
 * The resolved settings: every field present, validated, and deeply frozen (`audit.config`).
 *
 * @example
 * const audit = await createAudit();
 * console.log(audit.config.batchSize, audit.config.opensearch.url);
 */
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
  readonly failureMode: FailureMode;
  readonly durablePaths: readonly string[];
  readonly durableTimeoutMs: number;
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
  readonly checkpointIntervalSeconds: number;
  readonly signingKeyFile: string | undefined;
  readonly checkpointDir: string | undefined;
  readonly redactKeys: readonly string[];
  /** Pattern sources (`/source/flags`), compiled by the workers' Sanitizer: a RegExp does not cross threads. */
  readonly redactPatterns: readonly string[];
}
