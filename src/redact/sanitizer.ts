// Redaction before anything is stored, spooled or logged. Runs in the workers only. Builds new
// objects with a null prototype, so hostile keys such as `__proto__` are plain data here.
//
// Two mechanisms:
// - by key: the value of a key that names a secret (`password`, `db_password`, `X-Api-Key`, ...)
//   is replaced as a whole, at any depth and inside arrays;
// - by value: every string (body values at any depth, text bodies, form and query values, path,
//   target, user agent) is scanned once by one combined regular expression for secrets with a
//   recognisable shape (JWTs, bearer and basic credentials, cloud and SaaS tokens, PEM private
//   keys, Luhn-valid card numbers, `password=...` pairs, `<password>` elements). Only the
//   secret part is replaced.
import { isCardNumber } from './cards.js';
import { SecretKeys } from './keys.js';
import { combinedRules, compileSecretPattern, MIN_BUILT_IN } from './rules.js';
import { REDACTED, redactShapes } from './scanner.js';

export { REDACTED };

export interface SanitizeOptions {
  /** Extra keys to redact, matched like the default ones (case-insensitively, compound names too). */
  secretKeys?: readonly string[];
  /**
   * Extra value patterns: every match in every string becomes `[REDACTED]`. A string is read as a
   * regular expression source, or as `/source/flags`. Keep them free of nested quantifiers; use
   * lookbehind/lookahead for context that should stay.
   */
  secretPatterns?: readonly (RegExp | string)[];
  maxDepth?: number;
  maxKeys?: number;
}

interface KeyInfo {
  secret: boolean;
  /** The key as stored: itself, or with a secret inside it redacted. */
  name: string;
}

/** Distinct keys remembered per Sanitizer; keys repeat across events, so most lookups hit. */
const KEY_CACHE_SIZE = 4096;

export class Sanitizer {
  readonly #keys: SecretKeys;
  readonly #combined: RegExp;
  readonly #extra: RegExp[];
  readonly #minLength: number;
  readonly #maxDepth: number;
  readonly #maxKeys: number;
  readonly #keyCache = new Map<string, KeyInfo>();

  constructor(opts: SanitizeOptions = {}) {
    this.#keys = new SecretKeys(opts.secretKeys);
    this.#combined = combinedRules();
    this.#extra = (opts.secretPatterns ?? []).map(compileSecretPattern);
    this.#minLength = this.#extra.length > 0 ? 1 : MIN_BUILT_IN;
    this.#maxDepth = opts.maxDepth ?? 32;
    this.#maxKeys = opts.maxKeys ?? 1000;
  }

  isSecretKey(key: string): boolean {
    return this.#key(key).secret;
  }

  #key(key: string): KeyInfo {
    let info = this.#keyCache.get(key);
    if (info) return info;
    const secret = this.#keys.matches(key);
    const name = this.text(key);
    info = { secret, name: POISON_KEYS.has(name) ? `[${name}]` : name };
    if (this.#keyCache.size >= KEY_CACHE_SIZE) this.#keyCache.clear();
    this.#keyCache.set(key, info);
    return info;
  }

  /**
   * `s` with every secret found by pattern replaced by `[REDACTED]`, the surrounding text kept.
   * Lone surrogates become U+FFFD, so the result is always valid UTF-16 (and UTF-8 once encoded).
   * Never throws: if a scan fails (an application pattern exhausting the regex stack), the whole
   * string is redacted.
   */
  text(s: string): string {
    if (!s.isWellFormed()) s = s.toWellFormed();
    if (s.length < this.#minLength) return s;
    try {
      let out = redactShapes(s, this.#combined);
      for (const re of this.#extra) out = out.replace(re, REDACTED);
      return out;
    } catch {
      return REDACTED;
    }
  }

  /** A redacted deep copy of `value`, cut at maxDepth and maxKeys per object. */
  value(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.text(value);
    if (typeof value === 'number') return isCardNumber(value) ? REDACTED : value;
    if (typeof value === 'bigint') return this.text(String(value));
    if (value === null || typeof value !== 'object') return value;
    if (depth >= this.#maxDepth) return '[TRUNCATED: too deep]';
    if (value instanceof Uint8Array) return `[binary ${value.length} bytes]`;
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      const n = Math.min(value.length, this.#maxKeys);
      for (let i = 0; i < n; i++) out.push(this.value(value[i], depth + 1));
      return out;
    }
    const out = nullObject();
    let n = 0;
    for (const key of Object.keys(value)) {
      if (n++ >= this.#maxKeys) break;
      const info = this.#key(key);
      out[info.name] = info.secret
        ? REDACTED
        : this.value((value as Record<string, unknown>)[key], depth + 1);
    }
    return out;
  }
}

/**
 * An empty object with a null prototype, so a hostile key is plain data. Not Object.create(null):
 * V8 keeps such objects in slow dictionary mode, and JSON.stringify of a document (once per event,
 * for the bulk body or the spool) measured ~1.3 µs slower per 1 KB body with them.
 */
export function nullObject(): Record<string, unknown> {
  return Object.setPrototypeOf({}, null);
}

/**
 * Keys stored renamed (`[__proto__]`): kept as data here, but readers that guard against
 * prototype poisoning (the OpenSearch JS client among them) refuse a document holding them, so
 * one hostile request could otherwise make a tenant's audit trail unreadable.
 */
const POISON_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
