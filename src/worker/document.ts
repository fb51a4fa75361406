// Worker side: a captured event becomes the stored audit document. Everything deferred from the
// hot path happens here: the event id, ISO time, index name, query and body parsing, redaction.
import { isIP } from 'node:net';
import { bodyFormat } from '../capture/body.js';
import { canonicalJson, entryHash } from '../chain/hash.js';
import type { ChainSequencer } from '../chain/sequencer.js';
import type { IndexRotation } from '../config/options.js';
import { BodyKind, type CapturedEvent, NO_ORGANIZATION, Phase } from '../event.js';
import { redactSegments } from '../redact/path.js';
import { nullObject, type Sanitizer } from '../redact/sanitizer.js';

/** The stored `phase` of each Phase; none on an ordinary event. */
const PHASE_NAMES: Record<number, string | undefined> = {
  [Phase.RECEIVED]: 'received',
  [Phase.COMPLETED]: 'completed',
};

/** How the adapters start a note of their own in the event's error field. */
const AUDIT_NOTE = 'audit: ';

export interface DocumentContext {
  indexPrefix: string;
  rotation: IndexRotation;
  service: string;
  environment: string;
  serviceVersion: string;
  host: string;
  /** 6 random bytes chosen when the Audit was created: the process part of every event id. */
  instance: Uint8Array;
  sanitizer: Sanitizer;
  /** AUDIT_MAX_BODY_SIZE: a parsed body whose JSON is longer is stored as truncated text. */
  maxBodySize: number;
}

export interface AuditDocument {
  index: string;
  id: string;
  routing: string | undefined;
  source: Record<string, unknown>;
  /**
   * JSON.stringify(source), made once when the document is built (the chain hashes it) and reused
   * by the bulk body and the spool. Absent on documents read back from the spool.
   */
  json?: string;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The id's middle (version, instance, variant), the same for every event of a process. */
let middleOf: { instance: Uint8Array; text: string } | undefined;

function idMiddle(instance: Uint8Array): string {
  if (middleOf?.instance === instance) return middleOf.text;
  const b = [
    0x70 | ((instance[0] ?? 0) & 0x0f),
    instance[1] ?? 0,
    0x80 | ((instance[2] ?? 0) & 0x3f),
    instance[3] ?? 0,
    instance[4] ?? 0,
    instance[5] ?? 0,
  ].map((x) => HEX[x] as string);
  const text = `-${b[0]}${b[1]}-${b[2]}${b[3]}-${b[4]}${b[5]}`;
  middleOf = { instance, text };
  return text;
}

/**
 * A UUIDv7 made only of capture data: 48 bits of the request's ms timestamp, then 42 bits of the
 * process instance and the 32-bit sequence. The same frame always gives the same id, so a retry or
 * a replay is a harmless 409; ids from one process sort by time, then by sequence.
 */
export function eventId(ts: number, seq: number, instance: Uint8Array): string {
  const t = Math.floor(ts);
  // 48 bits: the high 16 above 2^32 and the low 32, each exact in a double.
  const high = Math.floor(t / 0x1_0000_0000) & 0xffff;
  const low = t >>> 0;
  return (
    HEX[high >>> 8] +
    (HEX[high & 255] as string) +
    HEX[low >>> 24] +
    HEX[(low >>> 16) & 255] +
    '-' +
    HEX[(low >>> 8) & 255] +
    HEX[low & 255] +
    idMiddle(instance) +
    HEX[seq >>> 24] +
    HEX[(seq >>> 16) & 255] +
    HEX[(seq >>> 8) & 255] +
    HEX[seq & 255]
  );
}

/** Until year 10000 an ISO time is `YYYY-MM-DDTHH:MM:SS.mmmZ`; past it toISOString() widens the year. */
const ISO_UNTIL = 253_402_300_800_000;
/** The last minute's `YYYY-MM-DDTHH:MM:` (Date#toISOString costs about 1 µs; this costs a concat). */
let isoMinute = Number.NaN;
let isoPrefix = '';

/** `new Date(ts).toISOString()`, the minute's prefix cached: events of one minute share it. */
export function isoTime(ts: number): string {
  // As the Date constructor does: toward zero.
  const t = Math.trunc(ts);
  if (!(t >= 0 && t < ISO_UNTIL)) return new Date(t).toISOString();
  const ms = t % 60_000;
  const minute = t - ms;
  if (minute !== isoMinute) {
    isoMinute = minute;
    isoPrefix = new Date(minute).toISOString().slice(0, 17);
  }
  const sec = Math.floor(ms / 1000);
  const milli = ms % 1000;
  return `${isoPrefix}${sec < 10 ? '0' : ''}${sec}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The UTC date part of an index name: 2026-11-27, 2026-w48 (ISO week) or 2026-11. */
export function indexSuffix(ts: number, rotation: IndexRotation): string {
  const d = new Date(ts);
  const y = d.getUTCFullYear();
  const m = pad2(d.getUTCMonth() + 1);
  if (rotation === 'monthly') return `${y}-${m}`;
  if (rotation === 'daily') return `${y}-${m}-${pad2(d.getUTCDate())}`;
  // ISO 8601 week: the week belongs to the year of its Thursday; week 1 holds January 4th.
  const thursday = new Date(Date.UTC(y, d.getUTCMonth(), d.getUTCDate() + 3 - ((d.getUTCDay() + 6) % 7)));
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - yearStart) / 86_400_000 / 7) + 1;
  return `${thursday.getUTCFullYear()}-w${pad2(week)}`;
}

function parseQuery(raw: string, sanitizer: Sanitizer): Record<string, unknown> | undefined {
  if (raw === '') return undefined;
  const out = nullObject();
  for (const [key, value] of new URLSearchParams(raw)) {
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return sanitizer.value(out) as Record<string, unknown>;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function parseBody(e: CapturedEvent, sanitizer: Sanitizer, maxBody: number): unknown {
  switch (e.bodyKind) {
    case BodyKind.NONE:
      return undefined;
    case BodyKind.NOTE:
      return { _note: sanitizer.text(String(e.body)) };
    case BodyKind.VALUE: {
      // Most bodies are far below the limit: the bound proves it without building the JSON.
      const { value, jsonBound } = sanitizer.sized(e.body);
      if (jsonBound <= maxBody) return value;
      const json = JSON.stringify(value) ?? '';
      if (json.length <= maxBody) return value;
      e.bodyTruncated = true;
      return { _note: 'truncated JSON', _unparsed: json.slice(0, maxBody) };
    }
    case BodyKind.TEXT:
    case BodyKind.BYTES: {
      const text = typeof e.body === 'string' ? e.body : decoder.decode(e.body as Uint8Array);
      switch (bodyFormat(e.contentType)) {
        case 'json':
          try {
            return sanitizer.json(text);
          } catch {
            // Cut at AUDIT_MAX_BODY_SIZE or invalid: stored as text, its `"key": value` pairs
            // redacted by key as well as by value pattern.
            return {
              _note: e.bodyTruncated ? 'truncated JSON' : 'invalid JSON',
              _unparsed: sanitizer.bodyText(text),
            };
          }
        case 'form':
          return parseQuery(text, sanitizer) ?? {};
        case 'xml':
        case 'text':
          return sanitizer.bodyText(text);
        default:
          // Raw multipart (its parts may be files) and binary types: only a note.
          return { _note: `binary ${e.contentType}, ${e.bodySize >= 0 ? e.bodySize : 'unknown'} bytes` };
      }
    }
    default:
      return { _note: `unknown body kind ${e.bodyKind}` };
  }
}

/**
 * A URL path (or a target) with its secrets redacted: the values of route parameters named like a
 * secret (`secrets`, from Sanitizer.secretParams), value patterns, and segments shaped like a
 * token (Sanitizer.path). A secret may hide behind percent-encoding (`%3D` for the `=` of
 * `token=...`, `%2B` in base64): when the decoded path holds one, the redacted decoded path is
 * stored instead of the encoded one.
 */
function pathText(path: string, sanitizer: Sanitizer, secrets: string[] | undefined): string {
  if (secrets !== undefined) path = redactSegments(path, secrets);
  const direct = sanitizer.path(path);
  if (!path.includes('%')) return direct;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return direct;
  }
  const clean = sanitizer.path(decoded);
  return clean === decoded ? direct : clean;
}

/** Caches the index name for the current rotation period, recomputing only when time moves on. */
export class IndexNamer {
  #from = 0;
  #to = -1;
  #name = '';
  readonly #base: string;

  constructor(readonly ctx: Pick<DocumentContext, 'indexPrefix' | 'service' | 'rotation'>) {
    this.#base = `${ctx.indexPrefix}-${ctx.service}-`;
  }

  name(ts: number): string {
    if (ts < this.#from || ts > this.#to) {
      this.#name = this.#base + indexSuffix(ts, this.ctx.rotation);
      this.#from = Math.floor(ts / 3_600_000) * 3_600_000;
      this.#to = this.#from + 3_599_999;
      // Cache per UTC hour: every rotation boundary is an hour boundary.
    }
    return this.#name;
  }
}

/**
 * `s` with lone surrogates replaced (U+FFFD): JSON.stringify would escape them, but the canonical
 * JSON a verifier computes cannot express them. The sanitizer does this for what it scans.
 */
function wellFormed(s: string): string {
  return s.isWellFormed() ? s : s.toWellFormed();
}

/**
 * The stored document of a captured event. Its keys are written in canonical (RFC 8785) order
 * here and by the sanitizer, so its JSON, built once, is also what the chain hashes. With a
 * `chain`, the document takes the next position of its organization's chain.
 */
export function toDocument(
  e: CapturedEvent,
  ctx: DocumentContext,
  namer: IndexNamer,
  chain?: ChainSequencer,
): AuditDocument {
  const id = eventId(e.ts, e.seq, ctx.instance);
  const s = ctx.sanitizer;
  // Values of route parameters named like a secret (`/verify/:code`): out of the path and target.
  const secrets = s.secretParams(e.path, e.route);
  // Stored under a named placeholder, so that these events can be found (NO_ORGANIZATION).
  const organization = wellFormed(e.organizationId) || NO_ORGANIZATION;
  const at = chain?.next(organization);
  const received = e.phase === Phase.RECEIVED;
  s.takeIndexKeys();
  // Keys in canonical order: see hash.ts before adding one.
  const source: Record<string, unknown> = {
    account_id: wellFormed(e.accountId) || undefined,
    action: wellFormed(e.action),
    actor_id: wellFormed(e.actorId) || undefined,
    actor_type: wellFormed(e.actorType) || undefined,
    // Set once the rest is hashed (JSON.stringify skips it until then); declared here so that
    // setting it does not change the object's shape.
    chain_hash: undefined,
    chain_id: at && chain?.chainId,
    chain_link: at?.link,
    chain_prev: at?.prev,
    chain_seq: at?.seq,
    // The field is mapped `ip`: anything else would make OpenSearch reject the whole document.
    client_ip: isIP(e.clientIp) ? e.clientIp : undefined,
    environment: ctx.environment,
    error: wellFormed(e.error) || undefined,
    event_id: id,
    host: ctx.host,
    intent_id: e.intentId || undefined,
    occurred_at: isoTime(e.ts),
    organization_id: organization,
    // A handler error makes a failure; the adapter's own notes ('audit: principal unreadable ...',
    // after the handler's error if any) do not turn a 2xx into one. An intent has no outcome yet.
    outcome: received
      ? undefined
      : e.status >= 400 || (e.error !== '' && !e.error.startsWith(AUDIT_NOTE))
        ? 'failure'
        : 'success',
    phase: PHASE_NAMES[e.phase],
    request_body: parseBody(e, s, ctx.maxBodySize),
    request_body_truncated: e.bodyTruncated || undefined,
    request_id: wellFormed(e.requestId) || undefined,
    request_method: wellFormed(e.method),
    request_path: pathText(e.path, s, secrets),
    request_query: parseQuery(e.query, s),
    response_duration_ms: received ? undefined : Math.round(e.durationMs * 1000) / 1000,
    response_status_code: received ? undefined : e.status,
    route: wellFormed(e.route) || undefined,
    service: ctx.service,
    service_version: ctx.serviceVersion,
    target: e.target ? pathText(e.target, s, secrets) : undefined,
    trace_id: wellFormed(e.traceId) || undefined,
    user_agent: e.userAgent ? s.repeatedText(e.userAgent) : undefined,
  };
  const index = namer.name(e.ts);
  let json = JSON.stringify(source);
  if (at && chain) {
    // JSON.stringify is JCS here unless a copied object has an array-index key (rare): then the
    // canonicalizer serializes the JSON as a verifier will read it back, for the hash only.
    const canonical = s.takeIndexKeys() ? canonicalJson(JSON.parse(json)) : json;
    const hash = entryHash(at.seq, at.prev, canonical);
    chain.advance(organization, at.seq, hash, e.ts, index);
    source.chain_hash = hash;
    // chain_hash sorts right before chain_id, the first key that can hold no string before it.
    json = json.replace('"chain_id":', `"chain_hash":"${hash}","chain_id":`);
  }
  return { index, id, routing: organization, source, json };
}
