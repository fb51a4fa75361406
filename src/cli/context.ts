// What every command starts from: the AUDIT_* configuration and, for those that talk to
// OpenSearch, a client made from it (TLS verification on unless AUDIT_OPENSEARCH_VERIFY_CERTS=false).
import type { Client } from '@opensearch-project/opensearch';
import type { AuditConfig } from '../config/options.js';
import { resolveConfig } from '../config/resolve.js';
import { createClient, warnIfInsecure } from '../opensearch/client.js';
import { usageError } from './args.js';
import type { Output } from './output.js';

export interface Command {
  /** One line for the overview. */
  readonly summary: string;
  /** What `--help` prints. */
  readonly help: string;
  run(argv: string[], out: Output): Promise<number>;
}

export function loadConfig(out: Output): AuditConfig {
  return resolveConfig({}, out.io.env);
}

export async function withClient<T>(
  config: AuditConfig,
  what: string,
  fn: (client: Client) => Promise<T>,
  opts: { warn?: boolean } = {},
): Promise<T> {
  if (!config.opensearch.url)
    throw usageError(
      `${what} needs OpenSearch: set AUDIT_OPENSEARCH_HOST (and _PORT, _USE_SSL, _USERNAME, _PASSWORD as needed)`,
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
