// Secrets in URL paths and in targets made of path segments (`invite:<token>`). A reset, invite or
// magic-link token is a path segment of its own, with no label before it for a value pattern to
// find: it is recognised by the segment before it, by its shape, or by the route parameter it fills.
import { REDACTED } from './scanner.js';

/**
 * Segments after which a path carries a one-time token (compared without case, `-` and `_`):
 * `/password-reset/<token>`, `/invite/<token>/accept`, `/magic-link/<token>`,
 * `/verify-email/<token>`, Django's `/reset/<uidb64>/<token>/`. Every later segment shaped like a
 * token (below) is redacted; words (`/invite/accept`) and plain numbers (`/invites/123`) stay.
 */
const MARKERS = [
  'reset',
  'password-reset',
  'reset-password',
  'forgot-password',
  'invite',
  'invites',
  'invitation',
  'invitations',
  'magic',
  'magic-link',
  'magic-links',
  'login-link',
  'verify',
  'verify-email',
  'email-verification',
  'verification',
  'confirm',
  'confirm-email',
  'confirmation',
  'activate',
  'activation',
  'unsubscribe',
  'token',
  'tokens',
].map((m) => m.replace(/[-_]/g, ''));
const MARKER_SET = new Set(MARKERS);
const MARKER_LENGTH = Math.max(...MARKERS.map((m) => m.length));

/**
 * The hash the scan computes for a segment of letters, `-` and `_`: over its lower-case letters
 * only, kept to 30 bits so that it stays a small integer (no heap number in the Set lookup).
 */
function step(h: number, lower: number): number {
  return (Math.imul(h, 31) + lower) & 0x3fffffff;
}
function hashOf(word: string): number {
  let h = 0;
  for (let i = 0; i < word.length; i++) h = step(h, word.charCodeAt(i));
  return h;
}
/** Marker hashes: a segment is sliced and compared only on a hit, so most paths allocate nothing. */
const MARKER_HASHES = new Set(MARKERS.map(hashOf));

/**
 * Token shapes. Anywhere: 20 or more characters of base64url (`+` and `=` allowed) holding upper
 * and lower case letters and digits, which 20 random base64url characters do with ~96%
 * probability. Ordinary ids lack one class and stay readable: UUIDs, MongoDB ObjectIds and git
 * hashes (hex, one case), ULIDs (upper case and digits), slugs and words (no digit or one case),
 * `pol-123`, numbers. Accepted false positive: long mixed-case ids with digits such as Stripe's
 * `pi_3MtwBwLkdIwHu7ix28a3tqPa` (a prefix exemption would also pass `whsec_…`-style secrets).
 * After a marker: 8 or more such characters holding a letter and a digit, UUIDs and hex included:
 * an invite or reset link is often a UUID or a hex digest.
 */
const ANYWHERE = 20;
const AFTER_MARKER = 8;

const isSeparator = (c: number) => c === 0x2f || c === 0x3a; // `/` `:`

/**
 * `path` with its token segments replaced by `[REDACTED]`. Segments are separated by `/` and `:`
 * (a derived target is `invite:<token>`). One pass over the characters; a string is built only
 * when something is redacted.
 */
export function redactPathTokens(path: string): string {
  let out = '';
  let copied = 0;
  let afterMarker = false;
  let start = 0;
  let upper = false;
  let lower = false;
  let digit = false;
  let token = true;
  let word = true;
  let hash = 0;
  for (let i = 0; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 0x2f;
    if (isSeparator(c)) {
      const n = i - start;
      if (
        token &&
        digit &&
        ((n >= ANYWHERE && upper && lower) || (afterMarker && n >= AFTER_MARKER && (upper || lower)))
      ) {
        out += path.slice(copied, start) + REDACTED;
        copied = i;
      } else if (
        word &&
        n >= 4 &&
        n <= MARKER_LENGTH + 3 &&
        MARKER_HASHES.has(hash) &&
        MARKER_SET.has(path.slice(start, i).toLowerCase().replace(/[-_]/g, ''))
      ) {
        afterMarker = true;
      }
      start = i + 1;
      upper = lower = digit = false;
      token = word = true;
      hash = 0;
    } else if (c >= 0x61 && c <= 0x7a) {
      lower = true;
      hash = step(hash, c);
    } else if (c >= 0x41 && c <= 0x5a) {
      upper = true;
      hash = step(hash, c + 32);
    } else if (c >= 0x30 && c <= 0x39) {
      digit = true;
      word = false;
    } else if (c === 0x2d || c === 0x5f) {
      // `-` `_`: in tokens and in words
    } else if (c === 0x2b || c === 0x3d) {
      word = false; // `+` `=`: base64
    } else {
      token = word = false;
    }
  }
  return copied === 0 ? path : out + path.slice(copied);
}

/** Distinct routes remembered per SecretParams; an app has few, a hostile one could have many. */
const ROUTE_CACHE_SIZE = 1000;
const NONE: readonly number[] = [];

/**
 * Route parameters named like a secret key (`/verify/:code`, `/invites/:inviteToken`): their value
 * is redacted from the path and the target whatever its shape, even a 6-digit code.
 */
export class SecretParams {
  readonly #isSecret: (name: string) => boolean;
  readonly #routes = new Map<string, readonly number[]>();

  constructor(isSecret: (name: string) => boolean) {
    this.#isSecret = isSecret;
  }

  /** The values in `path` (as sent, and percent-decoded) of the secret parameters of `route`. */
  values(path: string, route: string): string[] | undefined {
    if (route === '') return undefined;
    let at = this.#routes.get(route);
    if (at === undefined) {
      at = this.#positions(route);
      if (this.#routes.size >= ROUTE_CACHE_SIZE) this.#routes.clear();
      this.#routes.set(route, at);
    }
    if (at.length === 0) return undefined;
    const segments = path.split('/');
    const out: string[] = [];
    for (const i of at) {
      const value = segments[i];
      if (value === undefined || value === '') continue;
      out.push(value);
      if (!value.includes('%')) continue;
      try {
        const decoded = decodeURIComponent(value);
        if (decoded !== value) out.push(decoded);
      } catch {
        // malformed escapes: the value as sent is enough
      }
    }
    return out.length > 0 ? out : undefined;
  }

  /**
   * `/`-segment indexes of the secret parameters (`:name`, Hono `:name{re}`, `:name?`). Segments
   * line up with the path's only up to the first wildcard, optional part or pattern, which may
   * match any number of path segments: the scan stops there.
   */
  #positions(route: string): readonly number[] {
    const out: number[] = [];
    const segments = route.split('/');
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i] as string;
      if (segment.startsWith('{') || segment.includes('*')) break;
      for (const m of segment.matchAll(/:([A-Za-z0-9_$]+)/g)) {
        if (this.#isSecret(m[1] as string)) {
          out.push(i);
          break;
        }
      }
      if (/[?{(]/.test(segment)) break;
    }
    return out.length > 0 ? out : NONE;
  }
}

/** `text` with every segment (between `/`, `:` or the ends) equal to one of `values` redacted. */
export function redactSegments(text: string, values: readonly string[]): string {
  for (const value of values) {
    let from = 0;
    for (;;) {
      const i = text.indexOf(value, from);
      if (i < 0) break;
      const end = i + value.length;
      if (
        (i === 0 || isSeparator(text.charCodeAt(i - 1))) &&
        (end === text.length || isSeparator(text.charCodeAt(end)))
      ) {
        text = text.slice(0, i) + REDACTED + text.slice(end);
        from = i + REDACTED.length;
      } else from = i + 1;
    }
  }
  return text;
}
