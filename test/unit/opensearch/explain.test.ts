import http from 'node:http';
import https from 'node:https';
import { Client, errors } from '@opensearch-project/opensearch';
import { describe, expect, it } from 'vitest';
import { AuditError } from '../../../src/errors.js';
import {
  explainFailure,
  explainFailureChecked,
  explainRefusedItems,
  speaksTls,
} from '../../../src/opensearch/explain.js';
import { checkHealth } from '../../../src/opensearch/health.js';
import { send } from '../../../src/opensearch/request.js';
import { closedPort, useCertsAndServers } from '../../support/test-certs.js';

const url = 'http://127.0.0.1:9250';

/** A ConnectionError as the transport hands it over: the message, and the request's meta. */
function connectionError(message: string, node = url): Error {
  const err = new errors.ConnectionError(message, undefined as never);
  return Object.assign(err, {
    meta: { body: null, statusCode: null, meta: { connection: { url: new URL(node) } } },
  });
}

function responseError(statusCode: number, body: unknown): Error {
  return new errors.ResponseError({ statusCode, body, headers: {}, meta: {} } as never);
}

describe('explainFailure: answers', () => {
  it('names the user whose credentials were refused (401), or the missing credentials', () => {
    const err = responseError(401, 'Unauthorized');
    expect(err.message).toBe('Response Error');
    expect(explainFailure(err, { url, username: 'audit_writer' })).toEqual({
      cause: 'HTTP_401',
      message: 'OpenSearch refused the credentials of user audit_writer (401)',
    });
    expect(explainFailure(err, { url }).message).toBe(
      'OpenSearch requires credentials (401); set AUDIT_OPENSEARCH_USERNAME and AUDIT_OPENSEARCH_PASSWORD',
    );
  });

  it('gives the reason of a refusal (403) and of any other status', () => {
    const reason = 'no permissions for [indices:data/write/bulk] and User [name=audit_writer, roles=[x]]';
    const forbidden = responseError(403, {
      error: { root_cause: [{ type: 'security_exception', reason }], type: 'security_exception', reason },
      status: 403,
    });
    expect(explainFailure(forbidden, { username: 'audit_writer' })).toEqual({
      cause: 'HTTP_403',
      message: `OpenSearch denied user audit_writer the permission (403): security_exception: ${reason}`,
    });
    const blocked = responseError(503, {
      error: {
        type: 'cluster_block_exception',
        reason: 'blocked by: [SERVICE_UNAVAILABLE/1/state not recovered];',
      },
      status: 503,
    });
    expect(explainFailure(blocked).message).toBe(
      'OpenSearch answered 503: cluster_block_exception: blocked by: [SERVICE_UNAVAILABLE/1/state not recovered];',
    );
  });

  it('reads the status an AuditError of ours quotes, and the client error it wraps', () => {
    const quoted = new AuditError(
      'AUDIT_ERR_OPENSEARCH',
      'GET /_index_template/audit-template answered 401 Unauthorized',
    );
    expect(explainFailure(quoted, { username: 'app' }).message).toBe(
      'OpenSearch refused the credentials of user app (401)',
    );
    const wrapped = new AuditError('AUDIT_ERR_OPENSEARCH', 'GET /_cluster/health failed: ...', {
      cause: connectionError('connect ECONNREFUSED 127.0.0.1:9250'),
    });
    expect(explainFailure(wrapped).message).toBe('cannot connect to 127.0.0.1:9250 (ECONNREFUSED)');
  });

  it('says which items of a bulk answer all wait, with their reason', () => {
    expect(
      explainRefusedItems(429, { type: 'es_rejected_execution_exception', reason: 'rejected execution' }),
    ).toEqual({
      cause: 'ITEMS_429_es_rejected_execution_exception',
      message:
        'OpenSearch refused every event of the bulk request with 429: es_rejected_execution_exception: rejected execution',
    });
  });
});

describe('explainFailure: connections', () => {
  it('names the node and the socket error of a refused or unresolvable connection', () => {
    expect(explainFailure(connectionError('connect ECONNREFUSED 127.0.0.1:9250'))).toEqual({
      cause: 'ECONNREFUSED',
      message: 'cannot connect to 127.0.0.1:9250 (ECONNREFUSED)',
    });
    // The configured URL stands in when the error carries no connection.
    expect(
      explainFailure(new errors.ConnectionError('connect ETIMEDOUT 10.0.0.9:9200', undefined as never), {
        url: 'https://10.0.0.9:9200',
      }).message,
    ).toBe('cannot connect to 10.0.0.9:9200 (ETIMEDOUT)');
    expect(
      explainFailure(
        connectionError('getaddrinfo ENOTFOUND opensearch.internal', 'http://opensearch.internal:9200'),
      ).message,
    ).toBe('cannot resolve the host name opensearch.internal (ENOTFOUND)');
    expect(
      explainFailure(
        connectionError('getaddrinfo EAI_AGAIN opensearch.internal', 'http://opensearch.internal:9200'),
      ).message,
    ).toBe('cannot resolve the host name opensearch.internal (EAI_AGAIN)');
    // Both addresses of `localhost` refused: Node's AggregateError has no message to pass on.
    expect(explainFailure(connectionError('')).message).toBe('cannot connect to 127.0.0.1:9250');
  });

  it.each([
    ['unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'],
    ['self signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'],
    ['self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['unable to get local issuer certificate', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
  ])('says a certificate is not trusted (%s) and which variable fixes it', (message, code) => {
    expect(explainFailure(connectionError(message, 'https://127.0.0.1:9250'))).toEqual({
      cause: 'TLS_UNTRUSTED',
      message: `TLS: the server's certificate is not trusted (${code}); set AUDIT_OPENSEARCH_CA_CERTS to the CA that signed it`,
    });
  });

  it('tells http and https apart when they talk past each other', () => {
    const eproto =
      'write EPROTO 80DC2A97837F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n';
    expect(explainFailure(connectionError(eproto, 'https://127.0.0.1:9250'))).toEqual({
      cause: 'NOT_HTTPS',
      message:
        'the server at 127.0.0.1:9250 speaks plain http, not https; use an http:// URL (or AUDIT_OPENSEARCH_USE_SSL=false)',
    });
    expect(explainFailure(connectionError('Parse Error: Expected HTTP/')).message).toBe(
      'the server at 127.0.0.1:9250 speaks https; use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)',
    );
    expect(explainFailure(connectionError('socket hang up')).message).toBe(
      'the server at 127.0.0.1:9250 closed the connection without an answer (socket hang up); if it speaks https, use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)',
    );
    expect(explainFailure(connectionError('read ECONNRESET', 'https://127.0.0.1:9250')).message).toBe(
      'the server at 127.0.0.1:9250 closed the connection without an answer (ECONNRESET)',
    );
  });

  it('names the timeout and its variable', () => {
    const err = Object.assign(new errors.TimeoutError('Request timed out', {} as never), {
      meta: { meta: { connection: { url: new URL(url) } } },
    });
    expect(explainFailure(err, { timeoutSeconds: 5 })).toEqual({
      cause: 'TIMEOUT',
      message:
        'OpenSearch at 127.0.0.1:9250 did not answer within 5 s; raise AUDIT_OPENSEARCH_TIMEOUT if it is only slow',
    });
  });

  it('falls back to the error message, said as a failed request', () => {
    expect(explainFailure(new Error('something odd'))).toEqual({
      cause: 'ERROR',
      message: 'OpenSearch request failed: something odd',
    });
  });
});

// ── The real client against real local servers ───────────────────────────────────────────────

const local = useCertsAndServers();
const { listen } = local;

/** What the real client throws for one request to `node`. */
async function failureOf(node: string, opts: { ca?: Buffer; timeoutMs?: number } = {}): Promise<unknown> {
  const client = new Client({
    node,
    maxRetries: 0,
    requestTimeout: opts.timeoutMs ?? 5000,
    ...(opts.ca && { ssl: { ca: opts.ca } }),
  });
  try {
    await client.cluster.health();
  } catch (err) {
    return err;
  } finally {
    await client.close();
  }
  throw new Error(`${node} answered`);
}

const json = (_: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"green"}');
};

describe('explainFailure: what the real client throws', () => {
  it('a closed port: refused, named by host and port', async () => {
    const port = await closedPort();
    const err = await failureOf(`http://127.0.0.1:${port}`);
    expect((err as Error).name).toBe('ConnectionError');
    expect(explainFailure(err).message).toBe(`cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('https to a plain-http port: the server speaks http', async () => {
    const port = await listen(http.createServer(json));
    const err = await failureOf(`https://127.0.0.1:${port}`);
    expect(explainFailure(err)).toEqual({
      cause: 'NOT_HTTPS',
      message: `the server at 127.0.0.1:${port} speaks plain http, not https; use an http:// URL (or AUDIT_OPENSEARCH_USE_SSL=false)`,
    });
  });

  it('http to an https port: a hang-up, which a TLS handshake then shows to be https', async () => {
    const port = await listen(
      https.createServer({ key: local.certs().selfKey, cert: local.certs().selfCert }, json),
    );
    const err = await failureOf(`http://127.0.0.1:${port}`);
    expect(explainFailure(err).cause).toBe('CONNECTION_CLOSED');
    expect(await explainFailureChecked(err)).toEqual({
      cause: 'NOT_HTTP',
      message: `the server at 127.0.0.1:${port} speaks https; use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)`,
    });
  });

  it('a hang-up from a plain-http server stays a hang-up: the handshake check is no guess', async () => {
    const server = http.createServer((req) => req.socket.destroy());
    const port = await listen(server);
    expect(await speaksTls('127.0.0.1', port)).toBe(false);
    const err = await failureOf(`http://127.0.0.1:${port}`);
    expect((await explainFailureChecked(err)).cause).toBe('CONNECTION_CLOSED');
  });

  it('a self-signed certificate, a leaf without its CA, and a chain whose CA is unknown: not trusted', async () => {
    const self = await listen(
      https.createServer({ key: local.certs().selfKey, cert: local.certs().selfCert }, json),
    );
    const leaf = await listen(
      https.createServer({ key: local.certs().leafKey, cert: local.certs().leafCert }, json),
    );
    const chain = await listen(
      https.createServer(
        { key: local.certs().leafKey, cert: Buffer.concat([local.certs().leafCert, local.certs().caCert]) },
        json,
      ),
    );
    const sentence = (code: string) =>
      `TLS: the server's certificate is not trusted (${code}); set AUDIT_OPENSEARCH_CA_CERTS to the CA that signed it`;
    expect(explainFailure(await failureOf(`https://127.0.0.1:${self}`)).message).toBe(
      sentence('DEPTH_ZERO_SELF_SIGNED_CERT'),
    );
    expect(explainFailure(await failureOf(`https://127.0.0.1:${leaf}`)).message).toBe(
      sentence('UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
    );
    expect(explainFailure(await failureOf(`https://127.0.0.1:${chain}`)).message).toBe(
      sentence('SELF_SIGNED_CERT_IN_CHAIN'),
    );
    // With the CA given (AUDIT_OPENSEARCH_CA_CERTS), the same server is trusted.
    const client = new Client({
      node: `https://127.0.0.1:${leaf}`,
      maxRetries: 0,
      ssl: { ca: local.certs().caCert },
    });
    expect((await client.cluster.health()).statusCode).toBe(200);
    await client.close();
  });

  it('a 401 as the security plugin sends it: the user whose credentials were refused', async () => {
    const port = await listen(
      http.createServer((_, res) => {
        res.writeHead(401, {
          'content-type': 'text/plain',
          'www-authenticate': 'Basic realm="OpenSearch Security"',
        });
        res.end('Unauthorized');
      }),
    );
    const err = await failureOf(`http://127.0.0.1:${port}`);
    expect(explainFailure(err, { username: 'audit_writer' }).message).toBe(
      'OpenSearch refused the credentials of user audit_writer (401)',
    );
    // Through our administrative request helper, which answers instead of throwing.
    const client = new Client({ node: `http://127.0.0.1:${port}`, maxRetries: 0 });
    expect((await send(client, 'GET', '/_cluster/health')).statusCode).toBe(401);
    await client.close();
  });

  it('a server that never answers: the timeout', async () => {
    const port = await listen(http.createServer(() => undefined));
    const err = await failureOf(`http://127.0.0.1:${port}`, { timeoutMs: 200 });
    expect(explainFailure(err, { timeoutSeconds: 0.2 }).message).toBe(
      `OpenSearch at 127.0.0.1:${port} did not answer within 0.2 s; raise AUDIT_OPENSEARCH_TIMEOUT if it is only slow`,
    );
  });

  it('a refused connection through our request helper: the AuditError says the cause', async () => {
    const port = await closedPort();
    const client = new Client({ node: `http://127.0.0.1:${port}`, maxRetries: 0 });
    await expect(send(client, 'GET', '/_cluster/health')).rejects.toThrow(
      `GET /_cluster/health failed: cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`,
    );
    await client.close();
  });
});

describe('checkHealth: the cluster line says the same', () => {
  const opts = { template: {}, policy: {}, probeIndex: 'audit-api-2026-12-02', username: 'audit_writer' };

  it('for a closed port, and for a 401', async () => {
    const port = await closedPort();
    const down = new Client({ node: `http://127.0.0.1:${port}`, maxRetries: 0 });
    expect((await checkHealth(down, opts)).summary).toBe(
      `unhealthy: cluster: cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`,
    );
    await down.close();
    const refusing = await listen(
      http.createServer((_, res) => {
        res.writeHead(401, { 'content-type': 'text/plain' });
        res.end('Unauthorized');
      }),
    );
    const wrong = new Client({ node: `http://127.0.0.1:${refusing}`, maxRetries: 0 });
    expect((await checkHealth(wrong, opts)).summary).toBe(
      'unhealthy: cluster: OpenSearch refused the credentials of user audit_writer (401)',
    );
    await wrong.close();
  });

  it('for http to an https port', async () => {
    const port = await listen(
      https.createServer({ key: local.certs().selfKey, cert: local.certs().selfCert }, json),
    );
    const client = new Client({ node: `http://127.0.0.1:${port}`, maxRetries: 0 });
    expect((await checkHealth(client, opts)).summary).toBe(
      `unhealthy: cluster: the server at 127.0.0.1:${port} speaks https; use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)`,
    );
    await client.close();
  });
});
