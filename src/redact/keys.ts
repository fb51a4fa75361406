// Keys that name a secret: their value is redacted whole, wherever the key appears.

/**
 * Keys redacted by default, compared without case and punctuation. A name of five characters or
 * more also matches inside a longer key (`db_password`, `x-api-key`, `aws_secret_access_key`);
 * a shorter one as a whole word of the key (`user_pwd`, `cardCvv`, `PAN`) or, except `pan` and
 * `pin` (`span`, `spin`), at its end (`userpwd`, `cardcvv`, `totp`).
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
];

/** Short default names too common at the end of ordinary words to match there. */
const WORD_ONLY = new Set(['pan', 'pin']);

export function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
}

/** A key without case and punctuation: `X-Api-Key` → `xapikey`. */
export const compact = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/** The default secret keys plus the application's, compiled once for matching. */
export class SecretKeys {
  /** Compacted secret names of five characters or more: matched inside a compacted key. */
  readonly #long: string[];
  /** Shorter secret names: matched as a whole word of the key. */
  readonly #short: Set<string>;
  /** Short default names that also match at the end of a compacted key. */
  readonly #suffixes: string[];

  constructor(extra: readonly string[] = []) {
    const names = [...DEFAULT_SECRET_KEYS, ...extra].map(compact).filter((k) => k !== '');
    this.#long = [...new Set(names.filter((k) => k.length >= 5))];
    this.#short = new Set(names.filter((k) => k.length < 5));
    this.#suffixes = DEFAULT_SECRET_KEYS.map(compact).filter((k) => k.length < 5 && !WORD_ONLY.has(k));
  }

  /** Does `key` name a secret? */
  matches(key: string): boolean {
    const c = compact(key);
    if (c !== '' && this.#long.some((s) => c.includes(s))) return true;
    if (this.#suffixes.some((s) => c.endsWith(s))) return true;
    return this.#short.size > 0 && words(key).some((w) => this.#short.has(w));
  }
}
