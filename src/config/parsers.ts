// Value parsers: each turns an environment string or a code value into a value, or INVALID, and
// says what it expects (the message of a wrong value and the configuration docs use it).
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { signingKeyFromPem } from '../chain/checkpoint.js';
import { compileSecretPattern } from '../redact/rules.js';
import type { FailureMode, IndexRotation } from './options.js';

export const INVALID = Symbol('invalid');
export type Parsed<T> = T | typeof INVALID;

export interface Parser<T> {
  readonly expected: string;
  readonly fromEnv: (raw: string) => Parsed<T>;
  readonly fromCode: (value: unknown) => Parsed<T>;
  /** For a refused value, what is wrong with it when more can be said than `expected`; the message follows the variable's name. */
  readonly why?: (value: unknown) => string | undefined;
}

export const INTEGER = /^-?\d+$/;
export const DECIMAL = /^-?\d+(?:\.\d+)?$/;

export function integer(min: number, max: number): Parser<number> {
  const check = (n: number) => (Number.isSafeInteger(n) && n >= min && n <= max ? n : INVALID);
  return {
    expected: `an integer from ${min} to ${max}`,
    fromEnv: (raw) => (INTEGER.test(raw) ? check(Number(raw)) : INVALID),
    fromCode: (v) => (typeof v === 'number' ? check(v) : INVALID),
  };
}

/** A finite number in (min, max] when `exclusiveMin`, else in [min, max]. */
export function decimal(min: number, max: number, exclusiveMin: boolean): Parser<number> {
  const check = (n: number) =>
    Number.isFinite(n) && (exclusiveMin ? n > min : n >= min) && n <= max ? n : INVALID;
  return {
    expected: exclusiveMin
      ? `a number greater than ${min} and at most ${max}`
      : `a number from ${min} to ${max}`,
    fromEnv: (raw) => (DECIMAL.test(raw) ? check(Number(raw)) : INVALID),
    fromCode: (v) => (typeof v === 'number' ? check(v) : INVALID),
  };
}

export const TRUE = new Set(['true', '1', 'yes', 'on']);
export const FALSE = new Set(['false', '0', 'no', 'off']);

export const boolean: Parser<boolean> = {
  expected: 'true or false, or 1/0, yes/no, on/off',
  fromEnv: (raw) => {
    const s = raw.toLowerCase();
    return TRUE.has(s) ? true : FALSE.has(s) ? false : INVALID;
  },
  fromCode: (v) => (typeof v === 'boolean' ? v : INVALID),
};

/** A string parser; env and code values go through the same check. */
export function string(expected: string, check: (s: string) => string | typeof INVALID): Parser<string> {
  return { expected, fromEnv: check, fromCode: (v) => (typeof v === 'string' ? check(v) : INVALID) };
}

export const text = (max: number) =>
  string(`a non-empty string of at most ${max} characters`, (s) =>
    s.length > 0 && s.length <= max ? s : INVALID,
  );

// OpenSearch index names are lowercase and may not start with '-', '_' or '+'.
export const INDEX_NAME = /^[a-z0-9][a-z0-9_-]{0,99}$/;
export const indexName = string(
  '1 to 100 lowercase letters, digits, "-" or "_", not starting with "-" or "_"',
  (s) => (INDEX_NAME.test(s) ? s : INVALID),
);

export const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;
/** A hostname or an IP address (IPv6 with or without brackets), or INVALID. */
function hostName(s: string): string | typeof INVALID {
  const bracketed = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : undefined;
  if (bracketed !== undefined) return isIP(bracketed) === 6 ? bracketed : INVALID;
  if (isIP(s) !== 0) return s;
  if (/^[\d.]+$/.test(s) || s.length > 253) return INVALID; // digits only: a malformed IPv4
  return s.split('.').every((label) => LABEL.test(label)) ? s : INVALID;
}

/** One OpenSearch host of AUDIT_OPENSEARCH_HOST; without a port, AUDIT_OPENSEARCH_PORT applies. */
export interface HostEntry {
  readonly host: string;
  readonly port: number | undefined;
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address (which has no port), or INVALID. */
function hostEntry(s: string): HostEntry | typeof INVALID {
  if (isIP(s) === 6) return { host: s, port: undefined };
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(s) as RegExpExecArray;
  const name = hostName(m[1] as string);
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (name === INVALID || (port !== undefined && (port < 1 || port > 65535))) return INVALID;
  return { host: name, port };
}

function hostEntries(value: unknown): readonly HostEntry[] | typeof INVALID {
  const parts =
    typeof value === 'string'
      ? value.split(',')
      : Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? value.flatMap((v: string) => v.split(','))
        : undefined;
  const entries = parts?.map((p) => p.trim()).filter((p) => p.length > 0);
  if (!entries || entries.length === 0) return INVALID;
  const out: HostEntry[] = [];
  for (const e of entries) {
    const h = hostEntry(e);
    if (h === INVALID) return INVALID;
    out.push(h);
  }
  return out;
}

/**
 * AUDIT_OPENSEARCH_HOST: one host, as the deployment guide writes it, or a comma-separated list of
 * `host[:port]` (an array in code) for a cluster; the client's pool spreads requests over them.
 */
export const hostList: Parser<readonly HostEntry[]> = {
  expected:
    'a hostname or IP address without scheme, or a comma-separated list of host[:port] ([v6]:port for IPv6)',
  fromEnv: hostEntries,
  fromCode: hostEntries,
  why: (v) => {
    const entries = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : undefined;
    const bad = entries?.find(
      (e) => typeof e !== 'string' || (e.trim() !== '' && hostEntry(e.trim()) === INVALID),
    );
    if (bad === undefined) return undefined;
    const shown = typeof bad === 'string' ? JSON.stringify(hideUserinfo(bad.trim())) : `a ${typeof bad}`;
    const hint =
      typeof bad === 'string' && /^[a-z]+:\/\//i.test(bad.trim())
        ? ' (a URL goes in AUDIT_OPENSEARCH_URL)'
        : '';
    const whole = Array.isArray(v) ? v.map(String) : String(v).split(',');
    const got = JSON.stringify(whole.map((e) => hideUserinfo(e)).join(','));
    return `must be ${hostList.expected}; ${shown} is not one${hint}, got ${got}`;
  },
};

/** `entry` with everything from `//` to its last `@` hidden: a message may show a URL, never a password in it. */
export function hideUserinfo(entry: string): string {
  const at = entry.lastIndexOf('@');
  if (at < 0) return entry;
  const start = entry.indexOf('//');
  return `${start >= 0 && start < at ? entry.slice(0, start + 2) : ''}***${entry.slice(at)}`;
}

const URLS_EXPECTED =
  'comma-separated http(s)://host[:port] URLs (port default 80/443), one scheme, no path or credentials';

/** The node URLs a string (comma-separated) or an array of them holds, normalized to `scheme://host:port`, or why not. */
function nodeUrls(value: unknown): readonly string[] | string {
  const parts =
    typeof value === 'string'
      ? [value]
      : Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? value
        : undefined;
  if (parts === undefined) return `must be ${URLS_EXPECTED}, got a ${typeof value}`;
  // A password may hold a comma: look for userinfo before splitting, and show none of the value.
  if (parts.some((p) => p.includes('@')))
    return 'must not contain a user name or password (the value is not shown): URLs get logged; set AUDIT_OPENSEARCH_USERNAME and AUDIT_OPENSEARCH_PASSWORD instead';
  const entries = parts.flatMap((p) => p.split(',').map((s) => s.trim())).filter((s) => s.length > 0);
  if (entries.length === 0) return `must be ${URLS_EXPECTED}, got ${JSON.stringify(parts.join(','))}`;
  const urls: URL[] = [];
  for (const entry of entries) {
    let u: URL;
    try {
      u = new URL(entry);
    } catch {
      return `must be ${URLS_EXPECTED}, got ${JSON.stringify(hideUserinfo(entry))}`;
    }
    // A query or fragment is never shown: it may carry a key.
    const shown = JSON.stringify(
      u.protocol === 'http:' || u.protocol === 'https:'
        ? `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}${u.hash ? '#…' : ''}`
        : entry.replace(/[?#].*$/s, ''),
    );
    if (u.port === '0') return `must name a port from 1 to 65535, got ${shown}`;
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      return `must use http:// or https://, got ${shown}`;
    // A URL is printed in logs, errors and `pdaas-audit config`: a password in it would go along.
    if (u.username !== '' || u.password !== '' || entry.includes('@'))
      return `must not contain a user name or password (${shown}): URLs get logged; set AUDIT_OPENSEARCH_USERNAME and AUDIT_OPENSEARCH_PASSWORD instead`;
    if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || /[?#]/.test(entry))
      return `must be a node's address without a path, query or fragment, got ${shown}`;
    urls.push(u);
  }
  const schemes = new Set(urls.map((u) => u.protocol));
  if (schemes.size > 1) {
    const first = (scheme: string) => JSON.stringify(urls.find((u) => u.protocol === scheme)?.host);
    return `mixes http (${first('http:')}) and https (${first('https:')}): every node of a cluster is reached the same way`;
  }
  return urls.map((u) => `${u.protocol}//${u.hostname}:${u.port || (u.protocol === 'https:' ? 443 : 80)}`);
}

/** OpenSearch node URLs (AUDIT_OPENSEARCH_URL): the scheme decides TLS; credentials, paths and mixed schemes are refused. */
export const urlList: Parser<readonly string[]> = {
  expected: URLS_EXPECTED,
  fromEnv: (raw) => {
    const r = nodeUrls(raw);
    return typeof r === 'string' ? INVALID : r;
  },
  fromCode: (v) => {
    const r = nodeUrls(v);
    return typeof r === 'string' ? INVALID : r;
  },
  why: (v) => {
    const r = nodeUrls(v);
    return typeof r === 'string' ? r : undefined;
  },
};

export const readableFile = string('the path of a readable file', (s) => {
  if (s.length === 0) return INVALID;
  try {
    accessSync(s, constants.R_OK);
    return statSync(s).isFile() ? s : INVALID;
  } catch {
    return INVALID;
  }
});

/** A readable file holding an Ed25519 private key (PEM, PKCS#8), as `pdaas-audit keys generate` writes. */
export const signingKeyFile: Parser<string> = {
  ...string('the path of a readable Ed25519 private key file (PEM)', (s) => {
    if (s.length === 0) return INVALID;
    try {
      signingKeyFromPem(readFileSync(s, 'utf8'));
      return resolve(process.cwd(), s);
    } catch {
      return INVALID;
    }
  }),
  why: (v) => {
    if (typeof v !== 'string' || v.length === 0) return undefined;
    try {
      signingKeyFromPem(readFileSync(v, 'utf8'));
      return undefined;
    } catch (err) {
      // Only what is wrong, never the file's content.
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR'
        ? `must be a readable Ed25519 private key file: cannot read it (${code}); got ${JSON.stringify(v)}`
        : `must be an Ed25519 private key in PEM (pdaas-audit keys generate makes one); got ${JSON.stringify(v)}`;
    }
  },
};

export const directory = string('a non-empty path', (s) =>
  s.length > 0 ? resolve(process.cwd(), s) : INVALID,
);

export function oneOf<T extends string>(...values: T[]): Parser<T> {
  const check = (v: unknown) => (values.includes(v as T) ? (v as T) : INVALID);
  return { expected: `one of ${values.join(', ')}`, fromEnv: check, fromCode: check };
}

export const pathList: Parser<readonly string[]> = {
  expected: 'a comma-separated list of paths, each starting with "/"',
  fromEnv: (raw) => {
    const list = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    return list.every((p) => p.startsWith('/')) ? list : INVALID;
  },
  fromCode: (v) =>
    Array.isArray(v) && v.every((p) => typeof p === 'string' && p.startsWith('/')) ? [...v] : INVALID,
  // Names the entries at fault: in a list of ten, "got '/metrics,health,...'" hides which one.
  why: (v) => {
    const entries =
      typeof v === 'string' ? v.split(',').map((p) => p.trim()) : Array.isArray(v) ? v : undefined;
    const bad = entries?.filter((p) => typeof p !== 'string' || (p !== '' && !p.startsWith('/')));
    if (!bad || bad.length === 0) return undefined;
    const shown = bad.map((p) => (typeof p === 'string' ? JSON.stringify(p) : typeof p)).join(', ');
    const hint = bad.every((p) => typeof p === 'string') ? ` (as in "/${bad[0]}")` : '';
    return `must be a comma-separated list of paths, each starting with "/": ${shown} ${bad.length === 1 ? 'does' : 'do'} not${hint}; got ${JSON.stringify(v)}`;
  },
};

export const rotation = oneOf<IndexRotation>('daily', 'weekly', 'monthly');

export const failureMode = oneOf<FailureMode>('open', 'closed');

export const KEY_NAME = /^[^\s,]{1,100}$/;
export const keyList: Parser<readonly string[]> = {
  expected: 'a comma-separated list of key names, each 1 to 100 characters without spaces',
  fromEnv: (raw) => {
    const list = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    return list.every((k) => KEY_NAME.test(k)) ? list : INVALID;
  },
  fromCode: (v) =>
    Array.isArray(v) && v.every((k) => typeof k === 'string' && KEY_NAME.test(k)) ? [...v] : INVALID,
};

/** RegExp objects or sources that compile and cannot match the empty string, kept as `/source/flags`. */
export const patternList: Parser<readonly string[]> = {
  expected:
    'an array of regular expressions (RegExp objects or source strings) that compile and do not match the empty string',
  fromEnv: () => INVALID,
  fromCode: (v) => {
    if (!Array.isArray(v)) return INVALID;
    const out: string[] = [];
    for (const p of v) {
      if (typeof p !== 'string' && !(p instanceof RegExp)) return INVALID;
      try {
        const re = compileSecretPattern(p);
        out.push(`/${re.source}/${re.flags}`);
      } catch {
        return INVALID;
      }
    }
    return out;
  },
};
