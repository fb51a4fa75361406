// Why a request to OpenSearch failed, in one sentence an operator can act on. The client hands
// over little: a ResponseError has the status and the body, but a ConnectionError keeps only the
// socket error's message (Connection.js drops its `code`), so the cause is read from that message.
// `cause` is a short stable name for the reason: callers log a reason once and again only when it
// changes, whatever request of theirs ran into it.
import { connect as tlsConnect } from 'node:tls';
import type { OpenSearchConfig } from '../config/options.js';

export interface Explanation {
  /** A stable name of the reason (`HTTP_401`, `ECONNREFUSED`, `TLS_UNTRUSTED`, ...), for deduplication. */
  cause: string;
  /** One sentence saying what happened and, where there is one, which setting fixes it. */
  message: string;
}

/** What the sentence may name: the node, the user, the request timeout. */
export type ExplainContext = Partial<Pick<OpenSearchConfig, 'url' | 'username' | 'timeoutSeconds'>>;

interface ClientErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  statusCode?: unknown;
  meta?: { statusCode?: unknown; body?: unknown; meta?: { connection?: { url?: unknown } } };
}

/** Node's messages for a certificate chain it cannot trust, with the OpenSSL code of each. */
const UNTRUSTED: Array<[RegExp, string]> = [
  [/self[- ]signed certificate in certificate chain/i, 'SELF_SIGNED_CERT_IN_CHAIN'],
  [/self[- ]signed certificate/i, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  [/unable to verify the first certificate/i, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  [/unable to get local issuer certificate/i, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
  [/unable to get issuer certificate/i, 'UNABLE_TO_GET_ISSUER_CERT'],
];

/** Socket error codes that mean no connection was made. */
const UNREACHABLE = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EADDRNOTAVAIL'];

const MAX_REASON = 200;

function clip(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > MAX_REASON ? `${one.slice(0, MAX_REASON)}…` : one;
}

/** The node the request went to (the error's connection, else the configured URL) and its `host:port`. */
function endpointOf(err: ClientErrorShape, ctx: ExplainContext): { text?: string; url?: URL } {
  const fromError = err.meta?.meta?.connection?.url;
  let url: URL | undefined;
  if (fromError instanceof URL) url = fromError;
  else if (ctx.url) {
    // Several nodes are comma-separated; without the error's own, the first stands for them.
    const first = ctx.url.split(',')[0]?.trim() ?? '';
    url = URL.canParse(first) ? new URL(first) : undefined;
  }
  if (!url) return {};
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return { text: `${url.hostname}:${port}`, url };
}

/** The reason OpenSearch gave in an error body (JSON or text), short and on one line. */
function reasonOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() ? clip(body) : undefined;
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as { error?: unknown; message?: unknown; reason?: unknown };
  if (typeof b.error === 'string') return clip(b.error);
  if (b.error && typeof b.error === 'object') {
    const e = b.error as { type?: unknown; reason?: unknown };
    const type = typeof e.type === 'string' ? e.type : undefined;
    const reason = typeof e.reason === 'string' ? e.reason : undefined;
    if (type && reason) return clip(`${type}: ${reason}`);
    if (type ?? reason) return clip((type ?? reason) as string);
  }
  if (typeof b.message === 'string') return clip(b.message);
  if (typeof b.reason === 'string') return clip(b.reason);
  return undefined;
}

/** An HTTP answer of `status`: the sentence for it. */
export function explainStatus(status: number, body: unknown, ctx: ExplainContext = {}): Explanation {
  const reason = reasonOf(body);
  const cause = `HTTP_${status}`;
  if (status === 401)
    return {
      cause,
      message:
        ctx.username === undefined
          ? 'OpenSearch requires credentials (401); set AUDIT_OPENSEARCH_USERNAME and AUDIT_OPENSEARCH_PASSWORD'
          : `OpenSearch refused the credentials of user ${ctx.username} (401)`,
    };
  if (status === 403) {
    const who = ctx.username === undefined ? 'the request' : `user ${ctx.username}`;
    return { cause, message: `OpenSearch denied ${who} the permission (403)${reason ? `: ${reason}` : ''}` };
  }
  return { cause, message: `OpenSearch answered ${status}${reason ? `: ${reason}` : ''}` };
}

/**
 * A `_bulk` answer whose every item must wait (429, 5xx, a write block): the sentence for its first
 * such item.
 */
export function explainRefusedItems(status: number, error?: { type?: string; reason?: string }): Explanation {
  const reason = error && reasonOf({ error });
  return {
    cause: `ITEMS_${status}${error?.type ? `_${error.type}` : ''}`,
    message: `OpenSearch refused every event of the bulk request with ${status}${reason ? `: ${reason}` : ''}`,
  };
}

/** The code of a socket or TLS error: its own `code`, else the one its message names. */
function codeOf(err: ClientErrorShape, message: string): string | undefined {
  if (typeof err.code === 'string') return err.code;
  return /\b(E[A-Z][A-Z_]{2,}|HPE_[A-Z_]+)\b/.exec(message)?.[1];
}

function explainTransport(err: ClientErrorShape, ctx: ExplainContext): Explanation {
  const message = typeof err.message === 'string' ? err.message : '';
  const code = codeOf(err, message);
  const { text: hostPort, url } = endpointOf(err, ctx);
  const https = url?.protocol === 'https:';
  const at = hostPort ?? 'OpenSearch';
  const node = hostPort ? `OpenSearch at ${hostPort}` : 'OpenSearch';
  const server = hostPort ? `the server at ${hostPort}` : 'the server';

  if (err.name === 'TimeoutError' || code === 'ERR_TIMEOUT') {
    const within = ctx.timeoutSeconds === undefined ? '' : ` within ${ctx.timeoutSeconds} s`;
    return {
      cause: 'TIMEOUT',
      message: `${node} did not answer${within}; raise AUDIT_OPENSEARCH_TIMEOUT if it is only slow`,
    };
  }
  if (err.name === 'NoLivingConnectionsError')
    return { cause: 'NO_LIVING_CONNECTIONS', message: 'no OpenSearch node is available' };

  for (const [pattern, tlsCode] of UNTRUSTED) {
    if (code === tlsCode || pattern.test(message))
      return {
        cause: 'TLS_UNTRUSTED',
        message: `TLS: the server's certificate is not trusted (${tlsCode}); set AUDIT_OPENSEARCH_CA_CERTS to the CA that signed it`,
      };
  }
  if (code === 'CERT_HAS_EXPIRED' || /certificate has expired/i.test(message))
    return { cause: 'TLS_EXPIRED', message: `TLS: the certificate of ${node} has expired` };
  if (code === 'CERT_NOT_YET_VALID' || /certificate is not yet valid/i.test(message))
    return { cause: 'TLS_NOT_YET_VALID', message: `TLS: the certificate of ${node} is not valid yet` };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /does not match certificate's altnames/i.test(message))
    return {
      cause: 'TLS_WRONG_HOST',
      message: `TLS: the server's certificate does not name ${url?.hostname ?? 'the host'}; connect by a name the certificate lists`,
    };
  // An https request answered in plain http: OpenSSL reads the HTTP status line as a record header.
  if (/wrong version number|packet length too long/i.test(message) || code === 'ERR_SSL_WRONG_VERSION_NUMBER')
    return {
      cause: 'NOT_HTTPS',
      message: `${server} speaks plain http, not https; use an http:// URL (or AUDIT_OPENSEARCH_USE_SSL=false)`,
    };
  if (code === 'EPROTO' || /SSL routines/.test(message)) {
    const detail = /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? clip(message);
    return { cause: 'TLS_HANDSHAKE', message: `TLS: the handshake with ${node} failed (${detail})` };
  }

  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return {
      cause: code,
      message: `cannot resolve the host name ${url?.hostname ?? /ENOTFOUND (\S+)/.exec(message)?.[1] ?? ''} (${code})`,
    };
  if (code !== undefined && UNREACHABLE.includes(code))
    return { cause: code, message: `cannot connect to ${at} (${code})` };

  // A plain-http request to a TLS port: the server either closes the connection (socket hang up)
  // or answers with a TLS record that is no HTTP (a parse error).
  if (code?.startsWith('HPE_') || /^Parse Error/i.test(message)) {
    return https
      ? { cause: 'NOT_HTTP', message: `${server} does not answer in http (${clip(message)})` }
      : {
          cause: 'NOT_HTTP',
          message: `${server} speaks https; use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)`,
        };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/i.test(message)) {
    const what = `${server} closed the connection without an answer (${code ?? 'socket hang up'})`;
    return {
      cause: 'CONNECTION_CLOSED',
      message: https
        ? what
        : `${what}; if it speaks https, use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)`,
    };
  }
  if (err.name === 'RequestAbortedError')
    return { cause: 'ABORTED', message: `the request to ${node} was aborted (${clip(message)})` };
  if (err.name === 'DeserializationError')
    return { cause: 'NOT_JSON', message: `${server} answered something that is not OpenSearch's JSON` };
  if (err.name === 'ConnectionError' && (message === '' || message === 'Connection Error'))
    return { cause: 'CONNECTION', message: `cannot connect to ${at}` };
  return {
    cause: code ?? (typeof err.name === 'string' && err.name !== 'Error' ? err.name : 'ERROR'),
    message: `OpenSearch request failed: ${clip(message || String(err))}`,
  };
}

/**
 * One sentence for an error of @opensearch-project/opensearch (ResponseError, ConnectionError,
 * TimeoutError, ...), of a socket, or an AuditError of ours that wraps one (its `cause`) or quotes
 * an answer (`... answered 401 Unauthorized`).
 *
 * @example
 * explainFailure(err, { url: 'http://127.0.0.1:9250' }).message; // 'cannot connect to 127.0.0.1:9250 (ECONNREFUSED)'
 */
export function explainFailure(err: unknown, ctx: ExplainContext = {}): Explanation {
  if (err === null || typeof err !== 'object') return { cause: 'ERROR', message: String(err) };
  const e = err as ClientErrorShape;
  // Our AuditError around a client error: the client error says more.
  if (e.name === 'AuditError' && e.cause && typeof e.cause === 'object') return explainFailure(e.cause, ctx);
  if (e.name === 'ResponseError' || typeof e.meta?.statusCode === 'number') {
    const status = typeof e.statusCode === 'number' ? e.statusCode : e.meta?.statusCode;
    if (typeof status === 'number') return explainStatus(status, e.meta?.body, ctx);
  }
  if (e.name === 'AuditError' && typeof e.message === 'string') {
    // src/opensearch/request.ts describe(): `<what> answered <status> <reason>`.
    const answered = /\banswered (\d{3})(?: ([\s\S]*))?$/.exec(e.message);
    if (answered) return explainStatus(Number(answered[1]), answered[2], ctx);
  }
  return explainTransport(e, ctx);
}

/**
 * explainFailure(), made sure where the error alone cannot tell: a plain-http request that the
 * server closed is tried once as a TLS handshake (nothing is sent), and if the port speaks TLS the
 * sentence says so. Call it once per new cause, not per request.
 */
export async function explainFailureChecked(err: unknown, ctx: ExplainContext = {}): Promise<Explanation> {
  const first = explainFailure(err, ctx);
  if (first.cause !== 'CONNECTION_CLOSED') return first;
  let inner = err as ClientErrorShape;
  while (inner.name === 'AuditError' && inner.cause && typeof inner.cause === 'object')
    inner = inner.cause as ClientErrorShape;
  const { text: hostPort, url } = endpointOf(inner, ctx);
  if (url?.protocol !== 'http:') return first;
  if (!(await speaksTls(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 80)))) return first;
  return {
    cause: 'NOT_HTTP',
    message: `the server at ${hostPort} speaks https; use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)`,
  };
}

/** Does `host:port` complete a TLS handshake (any certificate) within timeoutMs? */
export function speaksTls(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, timeout: timeoutMs });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
