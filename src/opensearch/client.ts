// One place that turns the resolved config into an @opensearch-project/opensearch Client: TLS
// verification stays on unless AUDIT_OPENSEARCH_VERIFY_CERTS=false, credentials go to the client's
// auth option, never into the URL (so they cannot leak through an error message that prints it).
import { readFileSync } from 'node:fs';
import { Client } from '@opensearch-project/opensearch';
import type { OpenSearchConfig, OpenSearchOptions } from '../config/options.js';
import { resolveConfig } from '../config/resolve.js';
import { AuditError } from '../errors.js';

/**
 * An OpenSearch client for the installers and health check, from `options` over the
 * `AUDIT_OPENSEARCH_*` variables, with the same TLS and credential handling as the pipeline.
 * The caller closes it.
 *
 * @throws AuditError `AUDIT_ERR_INVALID_OPTION` when no host is configured or a value is wrong.
 * @example
 * const client = connect({ host: 'opensearch.internal', useSsl: true, username: 'admin', password });
 * console.log((await syncTemplate(client, { prefix: 'audit' })).state); // 'created' | 'unchanged' | ...
 * await client.close();
 */
export function connect(options: OpenSearchOptions = {}): Client {
  const { opensearch } = resolveConfig({ opensearch: options });
  if (!opensearch.url)
    throw new AuditError(
      'AUDIT_ERR_INVALID_OPTION',
      'connect() needs opensearch.url or AUDIT_OPENSEARCH_URL (or opensearch.host, AUDIT_OPENSEARCH_HOST)',
    );
  return createClient(opensearch);
}

/** How often a sniffing client asks the cluster for its nodes. */
const SNIFF_INTERVAL_MS = 60_000;

/** The client of the pipeline and the CLI, from resolved settings. */
export function createClient(os: OpenSearchConfig, overrides: { maxRetries?: number } = {}): Client {
  if (os.nodes.length === 0) throw new TypeError('createClient needs opensearch.url or opensearch.host');
  return new Client({
    // Every node the address names: the client's pool spreads requests and skips a dead one.
    node: [...os.nodes],
    ...(os.username !== undefined && { auth: { username: os.username, password: os.password ?? '' } }),
    ...(os.useSsl && {
      ssl: {
        rejectUnauthorized: os.verifyCerts,
        ...(os.caCerts !== undefined && { ca: readFileSync(os.caCerts) }),
      },
    }),
    requestTimeout: os.timeoutSeconds * 1000,
    // Sniffing replaces the pool with the nodes the cluster publishes: only when asked (see sniff).
    ...(os.sniff && { sniffOnStart: true, sniffInterval: SNIFF_INTERVAL_MS, sniffOnConnectionFault: true }),
    // Retries are ours (per item, with backoff and a breaker); the client must not resend a bulk.
    maxRetries: overrides.maxRetries ?? 0,
  });
}

/**
 * Coded process warnings for a production deployment whose connection is legal but readable by
 * anyone in the middle: TLS without verifying the server (`AUDIT_WARN_TLS_UNVERIFIED`), and a
 * password sent over plain http (`AUDIT_WARN_CREDENTIALS_PLAINTEXT`), where every request carries it.
 */
export function warnIfInsecure(os: OpenSearchConfig, environment: string): void {
  if (!os.url || !environment.toLowerCase().startsWith('prod')) return;
  if (os.useSsl && !os.verifyCerts) {
    process.emitWarning(
      `AUDIT_OPENSEARCH_VERIFY_CERTS=false in ${environment}: the OpenSearch certificate is not verified`,
      { code: 'AUDIT_WARN_TLS_UNVERIFIED', type: 'AuditWarning' },
    );
  }
  if (!os.useSsl && os.username !== undefined) {
    process.emitWarning(
      `OpenSearch credentials of user ${os.username} go over plain http in ${environment}: use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)`,
      { code: 'AUDIT_WARN_CREDENTIALS_PLAINTEXT', type: 'AuditWarning' },
    );
  }
}
