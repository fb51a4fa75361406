// Redaction before anything is stored, spooled or logged. Runs in the workers only. Builds new
// objects with a null prototype, so hostile keys such as `__proto__` are plain data here.

export const REDACTED = '[REDACTED]';

const DEFAULT_SECRET_KEYS = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'authorization',
  'cookie',
  'set-cookie',
  'private_key',
  'client_secret',
  'ssn',
  'card_number',
  'cardnumber',
  'cvv',
  'cvc',
];

export interface SanitizeOptions {
  /** Extra keys to redact, matched case-insensitively. */
  secretKeys?: readonly string[];
  maxDepth?: number;
  maxKeys?: number;
}

export class Sanitizer {
  readonly #keys: Set<string>;
  readonly #maxDepth: number;
  readonly #maxKeys: number;

  constructor(opts: SanitizeOptions = {}) {
    this.#keys = new Set([...DEFAULT_SECRET_KEYS, ...(opts.secretKeys ?? [])].map((k) => k.toLowerCase()));
    this.#maxDepth = opts.maxDepth ?? 32;
    this.#maxKeys = opts.maxKeys ?? 1000;
  }

  isSecretKey(key: string): boolean {
    const k = key.toLowerCase();
    if (this.#keys.has(k)) return true;
    // Compound names such as `db_password` or `x-api-key`.
    for (const s of this.#keys) if (s.length >= 5 && k.includes(s)) return true;
    return k.replaceAll('-', '_') !== k && this.#keys.has(k.replaceAll('-', '_'));
  }

  /** A redacted deep copy of `value`, cut at maxDepth and maxKeys per object. */
  value(value: unknown, depth = 0): unknown {
    if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? String(value) : value;
    if (depth >= this.#maxDepth) return '[TRUNCATED: too deep]';
    if (value instanceof Uint8Array) return `[binary ${value.length} bytes]`;
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      const n = Math.min(value.length, this.#maxKeys);
      for (let i = 0; i < n; i++) out.push(this.value(value[i], depth + 1));
      return out;
    }
    const out: Record<string, unknown> = Object.create(null);
    let n = 0;
    for (const key of Object.keys(value)) {
      if (n++ >= this.#maxKeys) break;
      const v = (value as Record<string, unknown>)[key];
      out[key] = this.isSecretKey(key) ? REDACTED : this.value(v, depth + 1);
    }
    return out;
  }
}
