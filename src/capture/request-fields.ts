// Small helpers the adapters share for the request fields: caps on header-derived strings (a 1 MB
// header must not become a 1 MB event) and the trace id from W3C traceparent.

export const CAP = { id: 256, path: 2048, query: 4096, header: 512 } as const;

export function cap(value: string | undefined | null, max: number): string {
  if (typeof value !== 'string') {
    // A principal from the app's resolve() may carry numeric ids; anything else is no string.
    return typeof value === 'number' || typeof value === 'bigint' ? String(value) : '';
  }
  return value.length > max ? value.slice(0, max) : value;
}

/** A declared content-length as a number of bytes, -1 when absent or not a length. */
export function parseLength(header: string | undefined): number {
  if (header === undefined) return -1;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 && header !== '' ? n : -1;
}

/** The name of something thrown, for a note; never throws itself (a getter may). */
export function errorName(thrown: unknown): string {
  try {
    if (thrown instanceof Error)
      return typeof thrown.name === 'string' && thrown.name ? thrown.name : 'Error';
  } catch {
    return 'Error';
  }
  return typeof thrown;
}

/**
 * Appends to `notes` what the adapter could not read: `audit: principal unreadable (TypeError)`.
 * The notes go after the handler's error name in the event's `error` field.
 */
export function addNote(notes: string, part: string, thrown: unknown): string {
  const note = `audit: ${part} unreadable (${errorName(thrown)})`;
  lastNote = `${note}: ${errorMessage(thrown)}`;
  return notes === '' ? note : `${notes}; ${note}`;
}

let lastNote = '';

/**
 * The last note addNote made, with the error's message: for the capture warning in the log, which
 * the operator needs to find the cause. Never stored: an event keeps only the error's name.
 */
export function lastNoteWithMessage(): string {
  return lastNote;
}

/** The message of something thrown, capped and on one line; never throws itself. */
export function errorMessage(thrown: unknown): string {
  try {
    const text = thrown instanceof Error ? thrown.message : String(thrown);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300);
  } catch {
    return 'unprintable';
  }
}

/** The 32-hex trace id of a `traceparent` header (`00-<trace>-<span>-<flags>`), '' when malformed. */
export function traceIdFrom(traceparent: string | undefined | null): string {
  if (
    !traceparent ||
    traceparent.length < 55 ||
    traceparent.charCodeAt(2) !== 45 ||
    traceparent.charCodeAt(35) !== 45
  ) {
    return '';
  }
  return traceparent.slice(3, 35);
}

/**
 * Who made the request and for which tenant; every field is optional (an unknown actor is still
 * audited).
 *
 * @example
 * c.set('auditPrincipal', { actorId: user.id, actorType: 'user', organizationId: user.orgId });
 */
export interface Principal {
  actorId?: string;
  actorType?: string;
  organizationId?: string;
  accountId?: string;
}

/**
 * Per-route override of what the route-derived action and target say; set it with auditAs().
 *
 * @example
 * app.post('/policies/:id/evaluate', auditAs({ action: 'policies.evaluate' }), handler);
 */
export interface AuditOverride {
  action?: string;
  target?: string;
  /**
   * Run the handler only once an intent event (phase `received`: who, tenant, action, target,
   * request id) is durable, acknowledged by OpenSearch or synced in the spool; else answer 503
   * (`AUDIT_ERR_UNAVAILABLE`) within AUDIT_DURABLE_TIMEOUT_MS without running it. The request's
   * own event (phase `completed`) then names the intent's event id. Put auditAs after your auth
   * middleware so the intent knows who is asking.
   */
  durable?: boolean;
}
