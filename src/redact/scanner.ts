// One scan of one string for the built-in secret shapes (rules.ts): each anchor the combined
// expression finds is handled by its kind, and only the secret part is replaced.
import { cardPrefix, isCard } from './cards.js';
import { KINDS, type Kind } from './rules.js';

export const REDACTED = '[REDACTED]';

// Runs of one character class, matched sticky from a position: one regex call per run, not per character.
const TOKEN_CHARS = /[A-Za-z0-9._~+/-]*/y;
const BASE64_CHARS = /[A-Za-z0-9+/]*/y;
/** An unquoted value runs to whitespace, a quote or a list separator; a header value to the line end. */
const BARE_VALUE_CHARS = /[^\s"'&,;<>]*/y;
const HEADER_VALUE_CHARS = /[^\r\n"']*/y;
const ELEMENT_TEXT_CHARS = /[^<]*/y;
/** The unquoted value of a key in body text also ends at a bracket: `"pin":1234}`. */
const KEY_VALUE_CHARS = /[^\s"'&,;<>{}[\]]*/y;
const BLANK = /^\s*$/;
const CDATA = '<![CDATA[';

/** Judges a key found in body text; absent outside body mode. */
export type KeyTest = (key: string) => boolean;

/** A `Basic` credential is base64 of `user:password`: printable text with a colon. */
function looksLikeBasic(b64: string): boolean {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length < 2 || !bytes.includes(0x3a)) return false;
  for (const b of bytes) if (b < 0x20 || b === 0x7f) return false;
  return true;
}

/**
 * One scan of one string. Values that follow an anchor (a `password=` value, a bearer token, a PEM
 * body) are redacted whole, and the scan goes on from the value's start rather than its end, so a
 * secret inside a value is still found on its own: ranges are merged. To stay linear although
 * values are then entered again, the end of the last run of each character class is remembered:
 * a run entered from inside ends where it ended before.
 */
class Scan {
  readonly #runs = new Map<RegExp, [from: number, to: number]>();
  readonly #found = new Map<string, [from: number, at: number]>();
  #out = '';
  #copied = 0;
  #from = -1;
  #to = -1;

  constructor(readonly s: string) {}

  /** End of the run of characters of `run` (a sticky `[...]*`) that starts at (or contains) `at`. */
  runEnd(at: number, run: RegExp): number {
    const known = this.#runs.get(run);
    if (known && at >= known[0] && at < known[1]) return known[1];
    run.lastIndex = at;
    run.test(this.s);
    const i = run.lastIndex;
    this.#runs.set(run, [at, i]);
    return i;
  }

  /** End of a quoted value starting after its opening quote: the closing quote, a line end or the end. */
  quotedEnd(at: number, quote: string): number {
    const key = quote === '"' ? DOUBLE_QUOTED : SINGLE_QUOTED;
    const known = this.#runs.get(key);
    if (known && at >= known[0] && at < known[1]) return known[1];
    const s = this.s;
    let i = at;
    while (i < s.length) {
      const c = s[i];
      if (c === '\\') i += 2;
      else if (c === quote || c === '\n' || c === '\r') break;
      else i++;
    }
    const end = Math.min(i, s.length);
    this.#runs.set(key, [at, end]);
    return end;
  }

  /**
   * Index of the first `needle` at or after `at`, -1 if none. The last answer is remembered: asked
   * again from inside the stretch it searched, it is the same, so repeated anchors stay linear.
   */
  find(at: number, needle: string): number {
    const known = this.#found.get(needle);
    if (known && at >= known[0] && (known[1] < 0 || at <= known[1])) return known[1];
    const i = this.s.indexOf(needle, at);
    this.#found.set(needle, [at, i]);
    return i;
  }

  /**
   * End (after the closing bracket) of the JSON object or array opening at `at`, or the end of the
   * string when it is cut. Brackets inside strings do not count unless `escaped` (JSON inside a
   * JSON string, whose quotes are `\"`). The caller resumes after it, so each character is read once.
   */
  bracketEnd(at: number, escaped: boolean): number {
    const s = this.s;
    let depth = 0;
    let inString = false;
    for (let i = at; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (inString) {
        if (c === 0x5c) i++;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22 && !escaped) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1;
    }
    return s.length;
  }

  /** Marks [from, to) for redaction; calls come in non-decreasing `from` order. */
  redact(from: number, to: number): void {
    if (to <= from) return;
    if (from <= this.#to) {
      this.#to = Math.max(this.#to, to);
      return;
    }
    this.#flush();
    this.#from = from;
    this.#to = to;
  }

  #flush(): void {
    if (this.#to > this.#from) {
      this.#out += this.s.slice(this.#copied, this.#from) + REDACTED;
      this.#copied = this.#to;
    }
  }

  result(): string {
    this.#flush();
    return this.#copied === 0 ? this.s : this.#out + this.s.slice(this.#copied);
  }
}

/** Keys of the quoted-value cache in Scan (any distinct objects would do). */
const DOUBLE_QUOTED = /"/;
const SINGLE_QUOTED = /'/;

/** Redacts the value that starts at `at`; returns where the scan goes on. */
function value(scan: Scan, at: number, toLineEnd: boolean): number {
  const q = scan.s[at];
  if (q === '"' || q === "'") scan.redact(at + 1, scan.quotedEnd(at + 1, q));
  else scan.redact(at, scan.runEnd(at, toLineEnd ? HEADER_VALUE_CHARS : BARE_VALUE_CHARS));
  return at;
}

/**
 * Redacts the content of the element whose start tag ends at `at`: its text up to the next tag, or
 * the content of a CDATA section that follows (after blank text, the markup is kept).
 */
function elementText(scan: Scan, at: number): number {
  const s = scan.s;
  const text = scan.runEnd(at, ELEMENT_TEXT_CHARS);
  if (!s.startsWith(CDATA, text)) {
    scan.redact(at, text);
    return at;
  }
  const close = scan.find(text + CDATA.length, ']]>');
  const end = close < 0 ? s.length : close;
  const blank = text === at || BLANK.test(s.slice(at, text));
  const from = blank ? text + CDATA.length : at;
  scan.redact(from, end);
  return from;
}

/** Whitespace between a key's separator and its value: spaces and tabs, and line ends in JSON. */
function skipSpace(s: string, at: number, lineEnds: boolean): number {
  for (;;) {
    const c = s[at];
    if (c === ' ' || c === '\t' || (lineEnds && (c === '\n' || c === '\r'))) at++;
    else return at;
  }
}

/** The local name of the XML start tag at `start` (`<ns:Pin a="1">` → `Pin`). */
function tagName(s: string, start: number, anchorEnd: number): string {
  let from = start + 1;
  let end = from;
  for (; end < anchorEnd; end++) {
    const c = s.charCodeAt(end);
    if (c <= 0x20 || c === 0x3e) break;
    if (c === 0x3a) from = end + 1;
  }
  return s.slice(from, end);
}

/**
 * Redacts the value of a key in body text that starts at `at`, after the separator: a quoted
 * string (quotes kept), an object or array whole, or an unquoted run. `escaped`: the key was
 * `\"key\"`, JSON inside a JSON string, so its string value is `\"...\"`. Returns where the scan
 * goes on: after an object or array (nothing inside is kept), else at the value's start.
 */
function keyValue(scan: Scan, at: number, escaped: boolean, lineEnds: boolean): number {
  const s = scan.s;
  at = skipSpace(s, at, lineEnds);
  const c = s[at];
  if (escaped && c === '\\' && s[at + 1] === '"') {
    const close = scan.find(at + 2, '\\"');
    scan.redact(at + 2, close < 0 ? s.length : close);
    return at + 2;
  }
  if (c === '{' || c === '[') {
    const end = scan.bracketEnd(at, escaped);
    scan.redact(at, end);
    return end;
  }
  if (c === '"' || c === "'") scan.redact(at + 1, scan.quotedEnd(at + 1, c));
  else scan.redact(at, scan.runEnd(at, KEY_VALUE_CHARS));
  return at;
}

/** Handles one anchor found by the combined expression; returns where the scan goes on. */
function onAnchor(scan: Scan, kind: Kind, start: number, anchorEnd: number, isKey?: KeyTest): number {
  const s = scan.s;
  switch (kind) {
    case 'bearer': {
      let end = scan.runEnd(anchorEnd, TOKEN_CHARS);
      const token = s.slice(anchorEnd, end);
      while (s[end] === '=') end++;
      // `Bearer abc123`, not "the bearer of this letter": a token has a non-letter or is long.
      if (token.length >= 6 && (/[^A-Za-z]/.test(token) || token.length >= 20)) scan.redact(anchorEnd, end);
      return anchorEnd;
    }
    case 'basic': {
      let end = scan.runEnd(anchorEnd, BASE64_CHARS);
      for (let pad = 0; pad < 2 && s[end] === '='; pad++) end++;
      if (end - anchorEnd >= 4 && looksLikeBasic(s.slice(anchorEnd, end))) scan.redact(anchorEnd, end);
      return anchorEnd;
    }
    case 'pem': {
      // The key runs to the next `-----` (its END line), or to the end of a truncated body.
      const end = s.indexOf('-----', anchorEnd);
      scan.redact(anchorEnd, end < 0 ? s.length : end);
      return anchorEnd;
    }
    case 'card':
      if (isCard(s.slice(start, anchorEnd))) scan.redact(start, anchorEnd);
      return anchorEnd;
    case 'cardGrouped': {
      const n = cardPrefix(s.slice(start, anchorEnd));
      if (n > 0) scan.redact(start, start + n);
      // Without a card from here, one may still start at the next group (`2024 4111 1111 1111 1111`).
      return n > 0 ? start + n : start + 5;
    }
    case 'pair':
      return value(scan, anchorEnd, false);
    case 'header':
      return value(scan, anchorEnd, true);
    case 'element':
      return elementText(scan, anchorEnd);
    // The key rules: a key that does not name a secret is passed, and the scan goes on inside it
    // (a key may hold a secret shape of its own).
    case 'jsonKey': {
      const close = s.lastIndexOf(s[start] as string, anchorEnd - 1);
      const escaped = s[close - 1] === '\\';
      const key = s.slice(start + 1, escaped ? close - 1 : close);
      return isKey?.(key) ? keyValue(scan, anchorEnd, escaped, true) : start + 1;
    }
    case 'xmlKey':
      return isKey?.(tagName(s, start, anchorEnd)) ? elementText(scan, anchorEnd) : start + 1;
    case 'bareKey': {
      let end = anchorEnd - 1;
      while (s[end - 1] === ' ' || s[end - 1] === '\t') end--;
      if (!isKey?.(s.slice(start, end))) return start + 1;
      // `pin => 12`
      return keyValue(
        scan,
        s[anchorEnd - 1] === '=' && s[anchorEnd] === '>' ? anchorEnd + 1 : anchorEnd,
        false,
        false,
      );
    }
    default:
      scan.redact(start, anchorEnd);
      return anchorEnd;
  }
}

/**
 * `s` with every built-in secret shape replaced by `[REDACTED]`; `combined` is combinedRules(), or
 * combinedRules(true) with `isKey` to also redact the values of keys that name a secret.
 */
export function redactShapes(s: string, combined: RegExp, isKey?: KeyTest): string {
  const re = combined;
  re.lastIndex = 0;
  let m = re.exec(s);
  if (m === null) return s;
  const scan = new Scan(s);
  for (; m !== null; m = re.exec(s)) {
    let rule = 0;
    while (rule < KINDS.length - 1 && m[rule + 1] === undefined) rule++;
    const kind = KINDS[rule] as Kind;
    const resume = onAnchor(scan, kind, m.index, m.index + m[0].length, isKey);
    re.lastIndex = Math.max(resume, m.index + 1);
  }
  return scan.result();
}
