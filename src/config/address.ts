// Where OpenSearch is: given as node URLs (AUDIT_OPENSEARCH_URL) or as the deployment guide's host
// and port (one host, or a comma-separated list of host[:port]). Both forms end as one list of node
// URLs, which the client's connection pool takes as is.
import { isIP } from 'node:net';
import type { HostEntry } from './parsers.js';

/** How a setting was given: its name as the user wrote it and where (code beats environment). */
export interface Given {
  readonly name: string;
  readonly level: 'code' | 'env';
}

export interface Address {
  readonly nodes: readonly string[];
  /** The first node's host and port (the only ones, as the guide sets them). */
  readonly host: string | undefined;
  readonly port: number;
  readonly useSsl: boolean;
}

const rank = (g: Given | undefined) => (g === undefined ? 0 : g.level === 'code' ? 2 : 1);

/**
 * The address from the resolved values and where each was given. Rule: the form given at the
 * higher level wins (code over environment, as for every setting); both forms at the same level
 * is an error naming both, because either choice could send the audit trail to a cluster the
 * operator did not mean.
 */
export function resolveAddress(
  values: Readonly<Record<string, unknown>>,
  given: Readonly<Record<string, Given | undefined>>,
): Address | { problem: string } {
  const urls = values['opensearch.url'] as readonly string[] | undefined;
  const hosts = values['opensearch.host'] as readonly HostEntry[] | undefined;
  const port = values['opensearch.port'] as number;
  const useSsl = values['opensearch.useSsl'] as boolean;
  const url = given['opensearch.url'];
  const hostForm = [given['opensearch.host'], given['opensearch.port']].filter(
    (g): g is Given => g !== undefined,
  );
  const top = Math.max(0, ...hostForm.map(rank));
  const byHost = (): Address => ({
    nodes: (hosts ?? []).map(
      (h) =>
        `${useSsl ? 'https' : 'http'}://${isIP(h.host) === 6 ? `[${h.host}]` : h.host}:${h.port ?? port}`,
    ),
    host: hosts?.[0]?.host,
    port: hosts?.[0]?.port ?? port,
    useSsl,
  });
  if (urls === undefined || url === undefined) return byHost();
  if (rank(url) <= top) {
    if (rank(url) < top && rank(given['opensearch.host']) === top) return byHost();
    const others = hostForm.filter((g) => rank(g) >= rank(url)).map((g) => g.name);
    return {
      problem: `${url.name} is set together with ${others.join(' and ')}: give the OpenSearch address one way, as URLs or as host and port, and unset the other`,
    };
  }
  const first = new URL(urls[0] as string);
  const https = first.protocol === 'https:';
  const ssl = given['opensearch.useSsl'];
  if (ssl !== undefined && rank(ssl) >= rank(url) && useSsl !== https) {
    return {
      problem: `${ssl.name} is ${useSsl} but ${url.name} is ${https ? 'https' : 'http'}: with URLs the scheme decides TLS; unset ${ssl.name} or change the scheme`,
    };
  }
  return {
    nodes: urls,
    host: first.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(first.port || (https ? 443 : 80)),
    useSsl: https,
  };
}
