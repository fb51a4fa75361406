// Administrative requests that answer instead of throwing on an HTTP error, so callers can tell a
// missing plugin (400 "no handler found"), a missing item (404) and a refusal (401/403) apart.
// Only a request that got no HTTP answer at all (refused, reset, timed out) throws.
import type { Client } from '@opensearch-project/opensearch';
import { AuditError } from '../errors.js';
import { explainFailure } from './explain.js';

export interface Answer {
  statusCode: number;
  body: unknown;
}

export async function send(
  client: Client,
  method: string,
  path: string,
  body?: unknown,
  querystring?: Record<string, unknown>,
): Promise<Answer> {
  try {
    const res = await client.transport.request({ method, path, body, querystring } as never);
    return { statusCode: res.statusCode ?? 200, body: res.body };
  } catch (err) {
    const meta = (err as { meta?: { statusCode?: unknown; body?: unknown } }).meta;
    if (meta && typeof meta.statusCode === 'number') return { statusCode: meta.statusCode, body: meta.body };
    throw new AuditError('AUDIT_ERR_OPENSEARCH', `${method} ${path} failed: ${explainFailure(err).message}`, {
      cause: err,
    });
  }
}

/** The cluster has no plugin serving this path (OpenSearch answers 400 "no handler found"). */
export function noHandler(answer: Answer): boolean {
  return answer.statusCode === 400 && /no handler found/.test(JSON.stringify(answer.body));
}

export function ok(answer: Answer): boolean {
  return answer.statusCode >= 200 && answer.statusCode < 300;
}

/** A short, single-line account of an error answer for messages. */
export function describe(answer: Answer): string {
  const b = answer.body as { error?: { reason?: string; type?: string } | string; reason?: string } | string;
  let detail: string;
  if (typeof b === 'string') detail = b;
  else if (typeof b?.error === 'object') detail = b.error.reason ?? b.error.type ?? JSON.stringify(b.error);
  else if (typeof b?.error === 'string') detail = b.error;
  else if (typeof b?.reason === 'string') detail = b.reason;
  else detail = JSON.stringify(b);
  return `${answer.statusCode} ${detail.slice(0, 300)}`;
}

/** Throws AUDIT_ERR_OPENSEARCH unless the answer is a 2xx. */
export function expectOk(answer: Answer, what: string): Answer {
  if (!ok(answer)) throw new AuditError('AUDIT_ERR_OPENSEARCH', `${what} answered ${describe(answer)}`);
  return answer;
}
