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

/** Handles one anchor found by the combined expression; returns where the scan goes on. */
function onAnchor(scan: Scan, kind: Kind, start: number, anchorEnd: number): number {
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
      scan.redact(anchorEnd, scan.runEnd(anchorEnd, ELEMENT_TEXT_CHARS));
      return anchorEnd;
    default:
      scan.redact(start, anchorEnd);
      return anchorEnd;
  }
}

/** `s` with every built-in secret shape replaced by `[REDACTED]`; `combined` is combinedRules(). */
export function redactShapes(s: string, combined: RegExp): string {
  const re = combined;
  re.lastIndex = 0;
  let m = re.exec(s);
  if (m === null) return s;
  const scan = new Scan(s);
  for (; m !== null; m = re.exec(s)) {
    let rule = 0;
    while (rule < KINDS.length - 1 && m[rule + 1] === undefined) rule++;
    const kind = KINDS[rule] as Kind;
    const resume = onAnchor(scan, kind, m.index, m.index + m[0].length);
    re.lastIndex = Math.max(resume, m.index + 1);
  }
  return scan.result();
}
