// What every command starts from: the AUDIT_* configuration and, for those that talk to
// OpenSearch, a client made from it (TLS verification on unless AUDIT_OPENSEARCH_VERIFY_CERTS=false).
import type { Client } from '@opensearch-project/opensearch';
import type { AuditConfig } from '../config/options.js';
import { urlList } from '../config/parsers.js';
import { resolveConfig } from '../config/resolve.js';
import { createClient, warnIfInsecure } from '../opensearch/client.js';
import { openSearchUrlFlag, usageError } from './args.js';
import type { Output } from './output.js';

export interface Command {
  /** One line for the overview. */
  readonly summary: string;
  /** What `--help` prints. */
  readonly help: string;
  run(argv: string[], out: Output): Promise<number>;
}

/**
 * The AUDIT_* configuration, with `--url` as the OpenSearch address when given: it replaces the
 * address of the environment (AUDIT_OPENSEARCH_URL, or _HOST, _PORT and _USE_SSL), as a code
 * option replaces its variable.
 */
export function loadConfig(out: Output): AuditConfig {
  const url = openSearchUrlFlag();
  if (url === undefined) return resolveConfig({}, out.io.env);
  const why = urlList.why?.(url);
  if (why !== undefined) throw usageError(`--url ${why}`);
  return resolveConfig({ opensearch: { url } }, out.io.env);
}

export async function withClient<T>(
  config: AuditConfig,
  what: string,
  fn: (client: Client) => Promise<T>,
  opts: { warn?: boolean } = {},
): Promise<T> {
  if (!config.opensearch.url)
    throw usageError(
      `${what} needs OpenSearch: pass --url or set AUDIT_OPENSEARCH_URL (or AUDIT_OPENSEARCH_HOST and _PORT, _USE_SSL), and _USERNAME, _PASSWORD as needed`,
    );
  // The reader warns by itself; the warning should show once.
  if (opts.warn ?? true) warnIfInsecure(config.opensearch, config.environment);
  const client = createClient(config.opensearch);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
