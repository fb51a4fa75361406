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
// Body text that could not be parsed (JSON cut at the size limit or invalid, XML, plain text) gets
// both: bodyText() also finds the keys of `"key": value`, `key=value` and `<key>` pairs in it and
// judges them like parsed keys. Paths and targets also lose segments shaped like tokens (path()).

import { isIndexKey } from '../chain/hash.js';
import { isCardNumber, mayBeRoundedCard, roundedCards } from './cards.js';
import { SecretKeys } from './keys.js';
import { redactPathTokens, SecretParams } from './path.js';
import { combinedRules, compileSecretPattern, MIN_BUILT_IN } from './rules.js';
import { type KeyTest, REDACTED, redactShapes } from './scanner.js';

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
/** Longer texts are not remembered by repeatedText(): the cache stays small (4096 × 1 KB at most). */
const REPEATED_MAX = 512;
/** The shortest body text a key rule can redact (`p=1`, with an application key `p`). */
const MIN_BODY = 3;

export class Sanitizer {
  readonly #keys: SecretKeys;
  readonly #combined: RegExp;
  readonly #body: RegExp;
  readonly #extra: RegExp[];
  readonly #minLength: number;
  readonly #maxDepth: number;
  readonly #maxKeys: number;
  readonly #keyCache = new Map<string, KeyInfo>();
  readonly #textCache = new Map<string, string>();
  /** Keys found in body text, judged once: a scan must not call text() (it shares the regexes). */
  readonly #bodyKeyCache = new Map<string, boolean>();
  readonly #isBodyKey: KeyTest = (key) => {
    let secret = this.#bodyKeyCache.get(key);
    if (secret === undefined) {
      secret = this.#keys.matches(key);
      if (this.#bodyKeyCache.size >= KEY_CACHE_SIZE) this.#bodyKeyCache.clear();
      this.#bodyKeyCache.set(key, secret);
    }
    return secret;
  };
  readonly #params: SecretParams;
  /** The text of the json() call under way: the digits of the numbers JSON.parse rounded. */
  #json: string | undefined;
  #rounded: Map<number, boolean> | undefined;
  /** The JSON length bound sized() counts. */
  #bound = 0;
  /** A copy since the last takeIndexKeys() has an array-index key (JSON.stringify puts those first). */
  #indexKeys = false;

  constructor(opts: SanitizeOptions = {}) {
    this.#keys = new SecretKeys(opts.secretKeys);
    this.#combined = combinedRules();
    this.#body = combinedRules(true);
    this.#params = new SecretParams(this.#isBodyKey);
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
    return this.#scan(s, this.#combined, undefined, this.#minLength);
  }

  /**
   * text() for strings that repeat across events (a user agent): each distinct one is scanned
   * once, and the answer remembered among the last KEY_CACHE_SIZE distinct ones (up to
   * REPEATED_MAX characters each).
   */
  repeatedText(s: string): string {
    if (s.length > REPEATED_MAX) return this.text(s);
    let out = this.#textCache.get(s);
    if (out === undefined) {
      out = this.text(s);
      if (this.#textCache.size >= KEY_CACHE_SIZE) this.#textCache.clear();
      this.#textCache.set(s, out);
    }
    return out;
  }

  /**
   * text() for a body that could not be parsed (JSON cut at AUDIT_MAX_BODY_SIZE or invalid, XML,
   * plain text): the values of `"key": value`, `'key': value`, `key=value`, `key: value` pairs, XML
   * attributes and `<key>value</key>` elements whose key names a secret are redacted too, by the
   * same rules as parsed keys; an object or array value whole.
   */
  bodyText(s: string): string {
    return this.#scan(s, this.#body, this.#isBodyKey, Math.min(this.#minLength, MIN_BODY));
  }

  #scan(s: string, combined: RegExp, isKey: KeyTest | undefined, minLength: number): string {
    if (!s.isWellFormed()) s = s.toWellFormed();
    if (s.length < minLength) return s;
    try {
      let out = redactShapes(s, combined, isKey);
      for (const re of this.#extra) out = out.replace(re, REDACTED);
      return out;
    } catch {
      return REDACTED;
    }
  }

  /**
   * A URL path or a target with its secrets redacted: text(), then segments shaped like a token
   * (path.ts: after `/password-reset/`, `/invite/`, ..., or 20+ mixed base64url characters).
   */
  path(s: string): string {
    return redactPathTokens(this.text(s));
  }

  /**
   * The values (as sent and percent-decoded) that the route parameters named like a secret key
   * (`/verify/:code`, `/invites/:inviteToken`) take in `path`, or undefined: the caller redacts
   * them from the path and the target.
   */
  secretParams(path: string, route: string): string[] | undefined {
    return this.#params.values(path, route);
  }

  /**
   * JSON.parse, then value(); throws on invalid JSON. Integers past 2^53 (17-19 digits) are
   * rounded by the parse, so the card check reads their digits in `text`.
   */
  json(text: string): unknown {
    const parsed: unknown = JSON.parse(text);
    this.#json = text;
    try {
      return this.value(parsed);
    } finally {
      this.#json = undefined;
      this.#rounded = undefined;
    }
  }

  #number(n: number): unknown {
    if (!mayBeRoundedCard(n)) return isCardNumber(n) ? REDACTED : n;
    // Without the text the digits are lost: a number that may have been a card is redacted (what
    // would be stored is not what was sent anyway).
    if (this.#json === undefined) return REDACTED;
    this.#rounded ??= roundedCards(this.#json);
    return this.#rounded.get(n) === true ? REDACTED : n;
  }

  /**
   * True when a copy made since the last call has an object key that is an array index ("0",
   * "17"): JavaScript iterates those first whatever the insertion order, so JSON.stringify of the
   * copy is not its canonical JSON.
   */
  takeIndexKeys(): boolean {
    const seen = this.#indexKeys;
    this.#indexKeys = false;
    return seen;
  }

  /** A redacted deep copy of `value` with sorted keys, cut at maxDepth and maxKeys per object. */
  value(value: unknown): unknown {
    return this.#copy(value, 0);
  }

  /**
   * value(), and an upper bound of the JSON length of the copy, counted while it is made: a string
   * counts six characters per character (its longest escape), a number 25. The caller compares it
   * with AUDIT_MAX_BODY_SIZE without building the JSON.
   */
  sized(value: unknown): { value: unknown; jsonBound: number } {
    this.#bound = 0;
    const copy = this.#copy(value, 0);
    return { value: copy, jsonBound: this.#bound };
  }

  #copy(value: unknown, depth: number): unknown {
    let out: unknown;
    if (typeof value === 'string') out = this.text(value);
    else if (typeof value === 'number') out = this.#number(value);
    else if (typeof value === 'bigint') out = this.text(String(value));
    else if (value === null || typeof value !== 'object') out = value;
    else if (depth >= this.#maxDepth) out = '[TRUNCATED: too deep]';
    else if (value instanceof Uint8Array) out = `[binary ${value.length} bytes]`;
    else if (Array.isArray(value)) {
      const items: unknown[] = [];
      const n = Math.min(value.length, this.#maxKeys);
      this.#bound += 2 + n;
      for (let i = 0; i < n; i++) items.push(this.#copy(value[i], depth + 1));
      return items;
    } else {
      const copy = nullObject();
      this.#bound += 2;
      // The copy's keys go in canonical (RFC 8785) order, sorted by UTF-16 code units, so that
      // JSON.stringify of a document is its canonical JSON (src/chain/hash.ts).
      const keys = Object.keys(value);
      if (keys.length > this.#maxKeys) keys.length = this.#maxKeys;
      const names = keys.map((key) => this.#key(key).name);
      const order = sortedOrder(names);
      for (const i of order) {
        const key = keys[i] as string;
        const info = this.#key(key);
        if (isIndexKey(info.name)) this.#indexKeys = true;
        this.#bound += 6 * info.name.length + 4;
        if (info.secret) {
          copy[info.name] = REDACTED;
          this.#bound += 2 + 6 * REDACTED.length;
        } else copy[info.name] = this.#copy((value as Record<string, unknown>)[key], depth + 1);
      }
      return copy;
    }
    this.#bound += typeof out === 'string' ? 6 * out.length + 2 : typeof out === 'number' ? 25 : 5;
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

/** The indexes of `names` in ascending UTF-16 code unit order (most objects come sorted already). */
function sortedOrder(names: string[]): number[] {
  const order = names.map((_, i) => i);
  for (let i = 1; i < names.length; i++) {
    if ((names[i - 1] as string) > (names[i] as string)) {
      return order.sort((a, b) => {
        const x = names[a] as string;
        const y = names[b] as string;
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }
  }
  return order;
}
