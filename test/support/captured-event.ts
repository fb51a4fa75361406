// A captured event with every field set (a JSON body with secrets at two depths, a query with a
// repeated key and a token), for the frame and document tests; `over` replaces any field.
import { BodyKind, type CapturedEvent, Phase } from '../../src/event.js';
import { Sanitizer } from '../../src/redact/sanitizer.js';
import type { DocumentContext } from '../../src/worker/document.js';

/** The 6-byte instance id the events' documents are built with. */
export const instance = Uint8Array.from([1, 2, 3, 4, 5, 6]);

/** The document context the tests build documents in (service `api`, daily indices, 20 KB bodies). */
export function documentContext(): DocumentContext {
  return {
    indexPrefix: 'audit',
    rotation: 'daily',
    service: 'api',
    environment: 'test',
    serviceVersion: '1.0.0',
    host: 'h',
    instance,
    sanitizer: new Sanitizer(),
    maxBodySize: 20480,
  };
}

export function event(over: Partial<CapturedEvent> = {}): CapturedEvent {
  return {
    ts: Date.UTC(2026, 10, 27, 12, 0, 0, 123),
    seq: 7,
    method: 'POST',
    path: '/policies',
    query: 'a=1&a=2&token=t',
    route: '/policies',
    status: 201,
    durationMs: 1.23456,
    actorId: 'alice',
    actorType: 'user',
    organizationId: 'org-1',
    accountId: '',
    action: 'policies.create',
    target: 'policies',
    traceId: '',
    requestId: 'r-1',
    clientIp: '127.0.0.1',
    userAgent: 'ua',
    contentType: 'application/json',
    bodyKind: BodyKind.BYTES,
    body: Buffer.from('{"name":"p","Password":"x","nested":[{"api_key":"k"}]}'),
    bodySize: 52,
    bodyTruncated: false,
    error: '',
    phase: Phase.NONE,
    intentId: '',
    ...over,
  };
}
