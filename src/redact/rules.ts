// The built-in secret shapes, as one combined regular expression with a capturing group per rule,
// and the compiler of the application's own patterns.
//
// Every pattern is written so that a scan is linear in the string's length: no nested or
// ambiguous quantifiers, a left boundary (lookbehind) on every pattern that starts a run of
// token characters (so one run is tried once, not from each of its characters), and values that
// run to a delimiter (quoted strings, PEM bodies, header values) are found by a plain loop rather
// than by the regular expression.

/**
 * A word spelled case-insensitively without the `i` flag (which would loosen every class of the
 * combined expression): `pwd` → `[Pp][Ww][Dd]`; `_` and `-` become an optional separator.
 */
function ci(word: string): string {
  let out = '';
  for (const ch of word) {
    if (ch === '_' || ch === '-') out += '[_-]?';
    else if (/[a-z]/.test(ch)) out += `[${ch.toUpperCase()}${ch}]`;
    else out += ch;
  }
  return out;
}

/** Labels of `label=value` / `"label": "value"` pairs in free text; the label may end a longer word. */
const PAIR_LABELS = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'token',
  'api_key',
  'access_key',
  'private_key',
  'credentials',
  'credential',
  'signature',
  'session_id',
  'ssn',
  'cvv',
  'cvc',
  'card_number',
];
/** Labels whose unquoted value runs to the end of the line (`Authorization: Token abc`). */
const HEADER_LABELS = ['authorization', 'cookie'];

const labels = (list: string[]) => `(?:${list.map(ci).join('|')})`;
/** After a label: an optional closing quote (JSON keys), `:` or `=` (or `=>`), a little space. */
const SEPARATOR = `["']?[ \\t]{0,3}(?:[:=]>?)[ \\t]{0,3}`;

export type Kind =
  | 'jwt'
  | 'bearer'
  | 'basic'
  | 'awsKeyId'
  | 'pem'
  | 'card'
  | 'cardGrouped'
  | 'github'
  | 'slack'
  | 'stripe'
  | 'google'
  | 'pair'
  | 'header'
  | 'element'
  | 'jsonKey'
  | 'xmlKey'
  | 'bareKey';

/** XML attributes after an element name, and the end of a start tag that is not self-closing. */
const START_TAG_END = '(?:[ \\t\\r\\n][^<>]*)?(?<!/)>';

/**
 * Each rule's expression finds an anchor. For most kinds the anchor is the secret itself; for
 * bearer, basic, pem, pair, header, element and the key rules the secret is the value after it,
 * found by onAnchor(). The key rules come last and only in body mode (combinedRules(true)): their
 * anchor names a key, which onAnchor() judges by the secret keys.
 */
const RULES: ReadonlyArray<readonly [Kind, string]> = [
  // header.payload.signature, each base64url; the first part is base64 of '{"'.
  ['jwt', '(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]*'],
  ['bearer', `(?<![A-Za-z0-9])${ci('bearer')}[ \\t]{1,4}`],
  ['basic', `(?<![A-Za-z0-9])${ci('basic')}[ \\t]{1,4}`],
  ['awsKeyId', '(?<![A-Za-z0-9])A[KS]IA[A-Z0-9]{16}(?![A-Za-z0-9])'],
  ['pem', '-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----'],
  // 13-19 digits, first digit 2-8 (every card network; excludes ms/µs timestamps and 0-padded ids).
  ['card', '(?<![0-9])(?<![0-9]\\.)[2-8][0-9]{12,18}(?![0-9])'],
  // The printed groupings: 4-4-4-4(-3), 4-6-5, 4-6-4, 4-4-4-1, separated by a space or a dash.
  [
    'cardGrouped',
    '(?<![0-9])(?<![0-9]\\.)[2-8][0-9]{3}[ -][0-9]{4,6}[ -][0-9]{4,5}(?:[ -][0-9]{1,4})?(?:[ -][0-9]{1,4})?(?![0-9])',
  ],
  ['github', '(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})'],
  ['slack', '(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}'],
  ['stripe', '(?<![A-Za-z0-9])[rs]k_(?:live|test)_[A-Za-z0-9]{16,}'],
  ['google', '(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])'],
  ['header', `${labels(HEADER_LABELS)}${SEPARATOR}`],
  ['pair', `${labels(PAIR_LABELS)}${SEPARATOR}`],
  // The start tag of an XML element named like a secret: `<password>`, `<db_password>`,
  // `<ns:Token>`, `<password type="text">`; not a closing or self-closing tag. A tag is entered once
  // per `<` and its attributes end at the next `<`, so the scan stays linear.
  ['element', `<[A-Za-z0-9_.:-]{0,40}?${labels([...PAIR_LABELS, ...HEADER_LABELS])}${START_TAG_END}`],
  // Body mode only. A quoted key and its colon: `"pin":`, `'secretKey' :`, `\"pin\":` (JSON inside
  // a JSON string). The key is at most 64 characters, so each quote starts at most 64 steps.
  ['jsonKey', `(?:"[^"\\\\\\r\\n]{1,64}\\\\?"|'[^'\\\\\\r\\n]{1,64}')[ \\t\\r\\n]{0,8}:`],
  // Body mode only. Any XML start tag, its name judged as a key: `<pin>`, `<ns:passwordConfirm a="1">`.
  ['xmlKey', `<[A-Za-z_][A-Za-z0-9_.:-]{0,63}${START_TAG_END}`],
  // Body mode only. An unquoted key and `:` or `=` (`pin: 12`, `passwordConfirm=x`, an XML
  // attribute), starting a word: one attempt per word, each at most 64 characters.
  ['bareKey', '(?<![A-Za-z0-9_$.-])[A-Za-z_$][A-Za-z0-9_$.-]{0,63}[ \\t]{0,3}[:=]'],
];

/** How many rules the plain mode uses: all but the key rules at the end. */
const PLAIN_RULES = RULES.length - 3;

/** The shortest string any built-in rule can redact (`pwd=x`); shorter strings are not scanned. */
export const MIN_BUILT_IN = 5;

// One capturing group per rule (the rules have none of their own): group i + 1 is rule i.
const combinedSource = (rules: typeof RULES) => rules.map(([, source]) => `(${source})`).join('|');
const PLAIN_SOURCE = combinedSource(RULES.slice(0, PLAIN_RULES));
const BODY_SOURCE = combinedSource(RULES);
export const KINDS = RULES.map(([kind]) => kind);

/**
 * Compiles an application pattern: a RegExp, a regular expression source, or `/source/flags`.
 * The result is global (without sticky). Throws on a pattern that does not compile or that
 * matches the empty string (it would redact between every character).
 */
export function compileSecretPattern(pattern: RegExp | string): RegExp {
  let source: string;
  let flags = '';
  if (pattern instanceof RegExp) {
    source = pattern.source;
    flags = pattern.flags;
  } else {
    const literal = /^\/(.+)\/([dgimsuvy]*)$/s.exec(pattern);
    source = literal ? (literal[1] as string) : pattern;
    flags = literal ? (literal[2] as string) : '';
  }
  flags = flags.replace(/[gy]/g, '');
  const once = new RegExp(source, flags);
  if (once.test('')) throw new SyntaxError(`pattern ${String(pattern)} matches the empty string`);
  return new RegExp(source, `${flags}g`);
}

/**
 * A fresh combined expression (global: each Sanitizer owns its lastIndex). In body mode it also
 * finds the keys of `"key": value`, `key=value` and `<key>value</key>` pairs, for a body that could
 * not be parsed (JSON cut at the size limit or invalid, XML, text).
 */
export function combinedRules(body = false): RegExp {
  return new RegExp(body ? BODY_SOURCE : PLAIN_SOURCE, 'g');
}
