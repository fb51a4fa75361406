// Keys that name a secret: their value is redacted whole, wherever the key appears.

/**
 * Keys redacted by default, compared without case and punctuation. A name of five characters or
 * more also matches inside a longer key (`db_password`, `x-api-key`, `aws_secret_access_key`);
 * a shorter one as a whole word of the key (`user_pwd`, `cardCvv`, `PAN`) or, except `pan` and
 * `pin` (`span`, `spin`), at its end (`userpwd`, `cardcvv`, `totp`). The names in LAST_WORD and
 * WHOLE_KEY below match more narrowly.
 */
export const DEFAULT_SECRET_KEYS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'x-api-key',
  'access_key',
  'private_key',
  'client_secret',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'credential',
  'session_id',
  'jwt',
  'otp',
  'pin',
  'ssn',
  'card_number',
  'cardnumber',
  'credit_card',
  'cc_number',
  'pan',
  'cvv',
  'cvv2',
  'cvc',
  'cvc2',
  'security_code',
  'iban',
  'pass',
  'passcode',
  'sig',
  'signature',
  'auth',
  'session',
  'sessid',
  'session_key',
  'sid',
  'code',
  'auth_code',
  'verification_code',
  'recovery_code',
  'backup_code',
  'device_code',
  'mfa_code',
];

/** Short default names too common at the end of ordinary words to match there. */
const WORD_ONLY = new Set(['pan', 'pin']);

/**
 * Default names that match only as the last word of a key (a trailing number aside:
 * `x-hub-signature-256`): `user_pass`, `X-Amz-Signature`, `basic_auth`, `connect.sid`,
 * `user_session`. Inside a word they would take `passenger`, `compass`, `bypass`, `author`,
 * `oauth`, `side`, `inside`, `design`; as a first word they name a property of the thing, not the
 * thing: `pass_through`, `auth_method`, `sig_alg`, `signature_method`, `session_count`,
 * `session_timeout` stay readable. The secret properties of a session have their own names
 * (`session_id`, `session_key`, `session_token`, `session_secret`, `session_cookie`).
 * Accepted false positives: `boarding_pass`, Twilio-style `AccountSid` identifiers.
 */
const LAST_WORD = new Set(['pass', 'sig', 'signature', 'auth', 'session', 'sid']);

/**
 * Default names that match only as the whole key: `code` is the OAuth authorization code
 * (`?code=…&state=…`, `grant_type=authorization_code&code=…`) but also `country_code`,
 * `zipcode`, `status_code`, `error_code`, `currency_code`. Its secret compounds are names of their
 * own (`auth_code`, `verification_code`, `recovery_code`, ...; `authorization_code` holds
 * `authorization`). Accepted false positive: a bare `code` key that is a product or promo code.
 */
const WHOLE_KEY = new Set(['code']);

export function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
}

/** A key without case and punctuation: `X-Api-Key` → `xapikey`. */
export const compact = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/** The last word of a key that has a letter (`x-hub-signature-256` → `signature`), '' if none. */
function lastWord(ws: string[]): string {
  for (let i = ws.length - 1; i >= 0; i--) {
    const w = ws[i] as string;
    if (/[a-z]/.test(w)) return w;
  }
  return '';
}

/** The default secret keys plus the application's, compiled once for matching. */
export class SecretKeys {
  /** Compacted secret names of five characters or more: matched inside a compacted key. */
  readonly #long: string[];
  /** Shorter secret names: matched as a whole word of the key. */
  readonly #short: Set<string>;
  /** Short default names that also match at the end of a compacted key. */
  readonly #suffixes: string[];
  /** Default names matched only as the last word of the key. */
  readonly #lastWord: Set<string>;
  /** Default names matched only as the whole (compacted) key. */
  readonly #whole: Set<string>;

  constructor(extra: readonly string[] = []) {
    const narrow = (k: string) => LAST_WORD.has(k) || WHOLE_KEY.has(k);
    const defaults = DEFAULT_SECRET_KEYS.filter((k) => !narrow(k)).map(compact);
    const names = [...defaults, ...extra.map(compact)].filter((k) => k !== '');
    this.#long = [...new Set(names.filter((k) => k.length >= 5))];
    this.#short = new Set(names.filter((k) => k.length < 5));
    this.#suffixes = defaults.filter((k) => k.length < 5 && !WORD_ONLY.has(k));
    this.#lastWord = LAST_WORD;
    this.#whole = WHOLE_KEY;
  }

  /** Does `key` name a secret? */
  matches(key: string): boolean {
    const c = compact(key);
    if (c === '') return false;
    if (this.#whole.has(c)) return true;
    if (this.#long.some((s) => c.includes(s))) return true;
    if (this.#suffixes.some((s) => c.endsWith(s))) return true;
    const ws = words(key);
    return this.#lastWord.has(lastWord(ws)) || (this.#short.size > 0 && ws.some((w) => this.#short.has(w)));
  }
}
