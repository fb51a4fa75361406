import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve.js';
import { isAuditError } from '../../../src/errors.js';
import { luhn } from '../../../src/redact/cards.js';
import { REDACTED, Sanitizer } from '../../../src/redact/sanitizer.js';
import { AWS_SECRET, JWT, PEM_BODY } from '../../support/secret-samples.js';

const R = REDACTED;
const sanitizer = new Sanitizer();

/** A Luhn-valid number: `prefix`, random digits, and the check digit, `length` digits in all. */
function luhnNumber(prefix: string, length: number, seed = 7): string {
  let body = prefix;
  let x = seed;
  while (body.length < length - 1) {
    x = (x * 1103515245 + 12345) % 2147483648;
    body += String(x % 10);
  }
  for (let d = 0; d <= 9; d++) if (luhn(body + d)) return body + d;
  throw new Error('unreachable');
}

describe('value patterns: secrets are replaced, the text around them kept', () => {
  // [what, input, expected]
  const positive: Array<[string, string, string]> = [
    ['a JWT alone', JWT, R],
    ['a JWT inside a sentence', `the session ${JWT}, issued today`, `the session ${R}, issued today`],
    ['a JWT with an empty signature (alg none)', 'x eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. y', `x ${R} y`],
    ['a JWT in a path', `/policies/${JWT}/evaluate`, `/policies/${R}/evaluate`],
    ['a Bearer credential', 'Bearer abc.DEF-123_xyz', `Bearer ${R}`],
    [
      'a lower-case bearer credential with padding',
      'got bearer dGhpcyBpcyBhIHRva2Vu== ok',
      `got bearer ${R} ok`,
    ],
    ['a long all-letter bearer token', 'Bearer abcdefghijklmnopqrstuvwxyz', `Bearer ${R}`],
    ['a Basic credential', 'Basic dXNlcjpodW50ZXIy', `Basic ${R}`],
    ['an AWS access key id', 'key AKIAZ3K5QW7R2M4N8P6L in use', `key ${R} in use`],
    ['an AWS session key id', 'ASIAQ2W3E4R5T6Y7U8I9', R],
    ['a labelled AWS secret key', `aws_secret_access_key=${AWS_SECRET}`, `aws_secret_access_key=${R}`],
    [
      'a labelled AWS secret key, env style',
      `AWS_SECRET_ACCESS_KEY: ${AWS_SECRET}\n`,
      `AWS_SECRET_ACCESS_KEY: ${R}\n`,
    ],
    [
      'a labelled AWS secret key in JSON text',
      `{"SecretAccessKey":"${AWS_SECRET}"}`,
      `{"SecretAccessKey":"${R}"}`,
    ],
    [
      'a PEM private key spanning lines',
      `key:\n-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY}\n-----END RSA PRIVATE KEY-----\nthanks`,
      `key:\n-----BEGIN RSA PRIVATE KEY-----${R}-----END RSA PRIVATE KEY-----\nthanks`,
    ],
    [
      'a PKCS#8 PEM key with escaped newlines (JSON text)',
      `"-----BEGIN PRIVATE KEY-----\\n${PEM_BODY.replace('\n', '\\n')}\\n-----END PRIVATE KEY-----"`,
      `"-----BEGIN PRIVATE KEY-----${R}-----END PRIVATE KEY-----"`,
    ],
    [
      'a truncated PEM key',
      `-----BEGIN EC PRIVATE KEY-----\n${PEM_BODY}`,
      `-----BEGIN EC PRIVATE KEY-----${R}`,
    ],
    [
      'a PGP private key block',
      `-----BEGIN PGP PRIVATE KEY BLOCK-----\n${PEM_BODY}\n-----END`,
      `-----BEGIN PGP PRIVATE KEY BLOCK-----${R}-----END`,
    ],
    ['a Visa number', 'card 4111111111111111 charged', `card ${R} charged`],
    ['a Visa number in groups of four', 'card 4111 1111 1111 1111.', `card ${R}.`],
    ['a Mastercard number with dashes', '5555-5555-5555-4444', R],
    ['an Amex number 4-6-5', 'amex 3782 822463 10005', `amex ${R}`],
    ['an Amex number', '378282246310005', R],
    ['a Diners number (14 digits)', '30569309025904', R],
    ['a 13-digit Visa number', luhnNumber('4', 13), R],
    ['a 19-digit number', luhnNumber('6', 19), R],
    ['a card followed by its CVV', 'pay 4111 1111 1111 1111 123 now', `pay ${R} 123 now`],
    ['a card after a number group', 'ref 2024 4111 1111 1111 1111', `ref 2024 ${R}`],
    ['a GitHub token', `ghp_${'aB3'.repeat(12)}`, R],
    ['a GitHub OAuth token in text', `use gho_${'Z9y'.repeat(12)} here`, `use ${R} here`],
    ['a GitHub fine-grained token', `github_pat_11ABCDEFG0123456789_${'x'.repeat(40)}`, R],
    ['a Slack bot token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', R],
    ['a Slack user token', 'token xoxp-1111111111-2222222222 end', `token ${R} end`],
    ['a Stripe live key', `sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}`, R],
    ['a Stripe test key', 'k=sk_test_51Hx0000aaaaBBBBcccc', `k=${R}`],
    ['a Google API key', 'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY', R],
    [
      'password= in free text',
      'login with password=hunter2&remember=1',
      `login with password=${R}&remember=1`,
    ],
    ['PASSWORD: with spaces', 'PASSWORD:  hunter2 next', `PASSWORD:  ${R} next`],
    ['a compound label', 'db_password=s3cr3t;host=db', `db_password=${R};host=db`],
    ['token= in a query-like text', '?next=/home&token=abc123', `?next=/home&token=${R}`],
    [
      'a quoted JSON value with an escaped quote',
      '{"password": "a \\" b", "n": 1}',
      `{"password": "${R}", "n": 1}`,
    ],
    ['a single-quoted value', "client_secret='abc def'", `client_secret='${R}'`],
    ['an x-api-key header line', 'x-api-key: k-123-456\nnext', `x-api-key: ${R}\nnext`],
    [
      'an Authorization header line (whole value)',
      'Authorization: Token abc def\nHost: x',
      `Authorization: ${R}\nHost: x`,
    ],
    ['a Cookie header line', 'Cookie: sid=abc; theme=dark', `Cookie: ${R}`],
    ['a Ruby-style pair', 'api_key => "k1"', `api_key => "${R}"`],
    ['an SSN label', 'ssn: 123-45-6789', `ssn: ${R}`],
    [
      'an XML element',
      '<user><password>hunter 2</password></user>',
      `<user><password>${R}</password></user>`,
    ],
    ['a namespaced XML element', '<ns:AccessKey>k-1</ns:AccessKey>', `<ns:AccessKey>${R}</ns:AccessKey>`],
    [
      'an XML element with attributes',
      '<password type="text">hunter2</password>',
      `<password type="text">${R}</password>`,
    ],
    [
      'a WS-Security password (namespace and attributes)',
      '<wsse:Password Type="http://docs.oasis-open.org/wss#PasswordText">hunter2</wsse:Password>',
      `<wsse:Password Type="http://docs.oasis-open.org/wss#PasswordText">${R}</wsse:Password>`,
    ],
    [
      'an XML element holding CDATA',
      '<password><![CDATA[hunter 2 <&>]]></password>',
      `<password><![CDATA[${R}]]></password>`,
    ],
    [
      'CDATA after whitespace, attributes across lines',
      '<db:secret\n  kind="k" >\n  <![CDATA[s3]]>\n</db:secret>',
      `<db:secret\n  kind="k" >\n  <![CDATA[${R}]]>\n</db:secret>`,
    ],
    ['an unterminated CDATA section (truncated body)', '<token><![CDATA[abc def', `<token><![CDATA[${R}`],
    [
      'an element, not the text after its closing tag',
      '<password>x</password> public note <n>1</n>',
      `<password>${R}</password> public note <n>1</n>`,
    ],
  ];

  it.each(positive)('%s', (_what, input, expected) => {
    expect(sanitizer.text(input)).toBe(expected);
  });

  // [what, input]: left exactly as they are.
  const negative: Array<[string, string]> = [
    ['plain text', 'The quick brown fox jumps over the lazy dog'],
    ['eyJ without the JWT shape', 'eyJhbGciOiJIUzI1NiJ9 alone'],
    ['eyJ inside a word', 'theyJhbG.ciOi.JIUzI1'],
    ['"bearer" in prose', 'the bearer of this letter'],
    ['a short bearer word', 'Bearer abc'],
    ['"basic" in prose', 'basic information about the plan'],
    ['Basic base64 without a colon', 'Basic dXNlcm5hbWU='],
    ['a too-short AKIA', 'AKIA1234'],
    ['an AKIA run that is too long', 'AKIAZ3K5QW7R2M4N8P6LX'],
    ['an unlabelled 40-character string', AWS_SECRET],
    ['a certificate', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
    ['a public key', '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----'],
    ['a number failing Luhn', '4111111111111112'],
    ['grouped digits failing Luhn', '4111 1111 1111 1112'],
    ['a ms timestamp (Luhn-valid, starts with 1)', luhnNumber('17', 13)],
    ['a 12-digit number', '411111111111'],
    ['a 20-digit number', '41111111111111111111'],
    ['two dates', '2024-01-15 2024-01-16'],
    ['a phone number', '+1 415 555 0100'],
    ['a decimal fraction', '0.4111111111111111'],
    ['a short ghp_', 'ghp_abc'],
    ['an unknown GitHub prefix', `ghx_${'a'.repeat(36)}`],
    ['a short xoxb', 'xoxb-123'],
    ['a Stripe publishable key', `pk_live_${'a'.repeat(24)}`],
    ['a short sk_live_', 'sk_live_abc'],
    ['a short AIza', 'AIzaSyD-9tSrke72'],
    ['a label not followed by = or :', 'the password is strong'],
    ['a longer word that only starts with a label', 'password_hint=blue'],
    ['a plural', 'tokens=5'],
    ['passwordless', 'passwordless login enabled'],
    ['an XML element that only starts with a label', '<passwordPolicy>strong</passwordPolicy>'],
    ['an already redacted value', `password=${R}`],
    ['a self-closing element and the text after it', '<password type="none"/> public note'],
    [
      'an element with attributes that only starts with a label',
      '<passwordPolicy min="8">strong</passwordPolicy>',
    ],
    ['a closing tag and the text after it', '</password> public note'],
  ];

  it.each(negative)('keeps %s', (_what, input) => {
    expect(sanitizer.text(input)).toBe(input);
  });

  it('redacts several secrets in one string and keeps the rest', () => {
    const text = `user=alice password=pw1 card 4111111111111111 jwt ${JWT} key AKIAZ3K5QW7R2M4N8P6L done`;
    expect(sanitizer.text(text)).toBe(`user=alice password=${R} card ${R} jwt ${R} key ${R} done`);
  });

  it('finds a secret inside a labelled value (ranges merge)', () => {
    expect(
      sanitizer.text(`auth: Bearer -----BEGIN PRIVATE KEY-----\n${PEM_BODY}\n-----END PRIVATE KEY-----`),
    ).toBe(`auth: Bearer ${R} PRIVATE KEY-----${R}-----END PRIVATE KEY-----`);
    expect(sanitizer.text(`token="${JWT}"`)).toBe(`token="${R}"`);
  });

  it('redacts card numbers that arrive as JSON numbers', () => {
    expect(sanitizer.value({ n: 4111111111111111, id: 1764244800123, count: 42, f: 0.5 })).toEqual({
      n: R,
      id: 1764244800123,
      count: 42,
      f: 0.5,
    });
  });
});

/**
 * A backtracking pattern turns a 1 MB string into hours of work (n² steps and worse); a linear scan
 * takes tens to hundreds of ms here. The limit separates the two with room for a busy shared host,
 * where 500 ms was crossed by a linear scan (685 ms for '4111 ' × 200,000 while a build ran).
 */
const SCAN_LIMIT_MS = 3000;

describe('repeated texts (user agents)', () => {
  it('answers exactly as text() does, remembered or not', () => {
    const s = new Sanitizer();
    const agents = [
      'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0',
      `curl/8.5 Authorization: Bearer ${JWT}`,
      `bot ${'x'.repeat(600)} token=abc123def456ghi789`,
    ];
    for (let round = 0; round < 3; round++)
      for (const ua of agents) expect(s.repeatedText(ua)).toBe(new Sanitizer().text(ua));
    expect(s.repeatedText(agents[1] as string)).not.toContain(JWT);
    // More distinct texts than the cache holds: it starts over and stays correct.
    for (let i = 0; i < 5000; i++)
      expect(s.repeatedText(`agent ${i} password=p${i}`)).toBe(`agent ${i} password=${REDACTED}`);
  });
});

describe('key redaction', () => {
  it.each([
    'password',
    'Password',
    'PASSWD',
    'pwd',
    'userPwd',
    'secret',
    'client_secret',
    'aws_secret_access_key',
    'token',
    'access_token',
    'refresh_token',
    'id_token',
    'X-Auth-Token',
    'api_key',
    'apiKey',
    'APIKEY',
    'x-api-key',
    'Authorization',
    'proxy-authorization',
    'cookie',
    'Set-Cookie',
    'private_key',
    'privateKey',
    'db_password',
    'ssn',
    'user_ssn',
    'card_number',
    'cardNumber',
    'credit_card',
    'cc_number',
    'PAN',
    'cvv',
    'CVC',
    'cvv2',
    'passphrase',
    'credentials',
    'JSESSIONID',
    // issue #12: pass, passcode, sig, signature, auth, session, sid, OAuth code
    'pass',
    'user_pass',
    'smtpPass',
    'X-Pass',
    'passcode',
    'user_passcode',
    'sig',
    'hmac_sig',
    'signature',
    'X-Amz-Signature',
    'x-hub-signature-256',
    'Stripe-Signature',
    'auth',
    'basic_auth',
    'proxyAuth',
    'session',
    'user_session',
    'sid',
    'connect.sid',
    'PHPSESSID',
    'code',
    'Code',
    'auth_code',
    'authCode',
    'oauth_code',
    'authorization_code',
    'verification_code',
    'recovery_code',
    'backup_code',
    'device_code',
    'mfa_code',
  ])('redacts the value of %s', (key) => {
    expect(sanitizer.isSecretKey(key)).toBe(true);
    expect(sanitizer.value({ [key]: 'v4lue-x', keep: 'k' })).toEqual({ [key]: R, keep: 'k' });
  });

  it.each([
    'name',
    'email',
    'description',
    'author',
    'span',
    'japan',
    'keyboard',
    'pinned',
    'compass',
    'status',
    // issue #12: the new names, not the words that contain them
    'passenger',
    'bypass',
    'pass_through',
    'passRate',
    'side',
    'inside',
    'sidebar',
    'consider',
    'design',
    'signal',
    'sig_alg',
    'signature_method',
    'SignatureVersion',
    'author',
    'oauth',
    'auth_method',
    'authType',
    'session_count',
    'sessionTimeout',
    'sessions',
    'zipcode',
    'country_code',
    'postal_code',
    'status_code',
    'errorCode',
    'currency_code',
    'codename',
  ])('keeps %s', (key) => {
    expect(sanitizer.isSecretKey(key)).toBe(false);
  });

  it('redacts at depth 5 inside arrays, whatever the value type', () => {
    const input = {
      a: [{ b: [{ c: { d: [{ Api_Key: 'k-depth-5', ok: 1 }, { nested: { TOKEN: { deep: 'x' } } }] } }] }],
      list: [{ password: ['p1', 'p2'] }],
    };
    expect(sanitizer.value(input)).toEqual({
      a: [{ b: [{ c: { d: [{ Api_Key: R, ok: 1 }, { nested: { TOKEN: R } }] } }] }],
      list: [{ password: R }],
    });
  });

  it('redacts secrets in object keys too', () => {
    const out = sanitizer.value({ [JWT]: '' }) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual([R]);
  });

  it('adds application keys, matched like the built-in ones', () => {
    const s = new Sanitizer({ secretKeys: ['email', 'tin'] });
    expect(s.value({ Email: 'a@b.c', user_email: 'a@b.c', tin: '1', tinted: 'no', name: 'n' })).toEqual({
      Email: R,
      user_email: R,
      tin: R,
      tinted: 'no',
      name: 'n',
    });
  });
});

describe('body text: keys of pairs in JSON or XML that could not be parsed', () => {
  // [what, input, expected]
  const positive: Array<[string, string, string]> = [
    [
      'truncated JSON: the keys of the issue',
      '{"user":"ann","password_confirmation":"a b","passwordConfirm":"c","secretKey":"k-1","pin":1234,"x":"',
      `{"user":"ann","password_confirmation":"${R}","passwordConfirm":"${R}","secretKey":"${R}","pin":${R},"x":"`,
    ],
    [
      'a value cut by the truncation',
      '{"name":"ann","passwordConfirm":"hunt',
      `{"name":"ann","passwordConfirm":"${R}`,
    ],
    [
      'pretty-printed JSON, the new default keys',
      '{\n  "sig" : "abc",\n  "code": "4/0Ad",\n  "session": "s-1",\n  "pass": "p"\n}',
      `{\n  "sig" : "${R}",\n  "code": "${R}",\n  "session": "${R}",\n  "pass": "${R}"\n}`,
    ],
    [
      'an object or array value, whole, strings with brackets inside',
      '{"credentials":{"user":"u","key":"k}"},"keys":[1],"tokens":["a",["b"]],"n":1}',
      `{"credentials":${R},"keys":[1],"tokens":${R},"n":1}`,
    ],
    ['an object value cut by the truncation', '{"n":1,"auth":{"user":"u","key":"k', `{"n":1,"auth":${R}`],
    ['a literal or number', '{"pin": 0042, "otp":null, "ok":true}', `{"pin": ${R}, "otp":${R}, "ok":true}`],
    [
      'single-quoted and unquoted keys (a JavaScript or Python literal)',
      "{'secretKey': 'k', passwordConfirm: \"p\", pin: 12, name: 'n'}",
      `{'secretKey': '${R}', passwordConfirm: "${R}", pin: ${R}, name: 'n'}`,
    ],
    [
      'JSON escaped inside a JSON string',
      '{"payload":"{\\"secretKey\\":\\"k-1\\",\\"id\\":7}"}',
      `{"payload":"{\\"secretKey\\":\\"${R}\\",\\"id\\":7}"}`,
    ],
    [
      'form-like text',
      'user=ann&passwordConfirm=hunter2&code=4/0Ad&next=/',
      `user=ann&passwordConfirm=${R}&code=${R}&next=/`,
    ],
    [
      'XML elements named like a secret key, with attributes and CDATA',
      '<user><pin>1234</pin><passwordConfirmation type="t"><![CDATA[h]]></passwordConfirmation><name>ann</name></user>',
      `<user><pin>${R}</pin><passwordConfirmation type="t"><![CDATA[${R}]]></passwordConfirmation><name>ann</name></user>`,
    ],
    [
      'an XML attribute named like a secret key',
      '<user pin="1234" name="ann"/>',
      `<user pin="${R}" name="ann"/>`,
    ],
    [
      'value patterns still apply',
      `{"note":"Bearer ${JWT}","card":"4111111111111111"`,
      `{"note":"Bearer ${R}","card":"${R}"`,
    ],
  ];

  it.each(positive)('%s', (_what, input, expected) => {
    expect(sanitizer.bodyText(input)).toBe(expected);
  });

  it.each([
    [
      'keys that do not name a secret',
      '{"pinned":true,"passenger":"x","zipcode":"12345","session_count":3,"author":"a"',
    ],
    ['a string that only looks like a key', '{"a":"pin","b":"token"}'],
    ['a self-closing XML element', '<pin/> 1234'],
    ['XML elements not named like a secret', '<order><id>42</id><sidebar>left</sidebar></order>'],
  ])('keeps %s', (_what, input) => {
    expect(sanitizer.bodyText(input)).toBe(input);
  });

  it('applies the application keys too', () => {
    expect(new Sanitizer({ secretKeys: ['email'] }).bodyText('{"email":"a@b.c","name":"n"')).toBe(
      `{"email":"${R}","name":"n"`,
    );
  });

  it('scans a 1 MB adversarial body in linear time', () => {
    const adversarial = [
      '"a":'.repeat(250_000),
      '"pin":'.repeat(160_000),
      '{"secret":'.repeat(100_000),
      '{"secret":['.repeat(90_000),
      `"${'a'.repeat(63)}`.repeat(16_000),
      `"${'a'.repeat(64)}":`.repeat(15_000),
      '\\"pin\\":\\"'.repeat(90_000),
      '\\"pin\\":{'.repeat(100_000),
      'pin='.repeat(250_000),
      `${'a'.repeat(64)}=`.repeat(15_000),
      'a'.repeat(1_000_000),
      '<pin '.repeat(200_000),
      `<${'a'.repeat(63)} `.repeat(15_000),
      '<pin><![CDATA['.repeat(70_000),
      '<a x="'.repeat(160_000),
      "'pin':'".repeat(140_000),
    ];
    for (const s of adversarial) {
      const t0 = performance.now();
      const out = sanitizer.bodyText(s);
      const ms = performance.now() - t0;
      expect(typeof out).toBe('string');
      expect(ms, `${JSON.stringify(s.slice(0, 20))}… took ${ms.toFixed(0)} ms`).toBeLessThan(SCAN_LIMIT_MS);
    }
  });
});

describe('card numbers beyond 2^53', () => {
  const card19 = luhnNumber('4', 19, 11);
  const other19 = (() => {
    for (let x = 5_000_000_000_000_000_000n; ; x++) {
      const d = String(x);
      if (!luhn(d) && !luhn(String(Number(d)))) return d;
    }
  })();

  it('redacts a 19-digit card sent as a JSON number, judged on the digits sent', () => {
    expect(luhn(String(JSON.parse(card19)))).toBe(false); // what JSON.parse makes of it fails Luhn
    expect(
      sanitizer.json(
        `{"card":${card19},"list":[${luhnNumber('6', 17)}],"other":${other19},"big":12345678901234567890}`,
      ),
    ).toEqual({ card: R, list: [R], other: Number(other19), big: Number('12345678901234567890') });
  });

  it('redacts a number in the card range that was already rounded, whose digits are lost', () => {
    // A rounded 19-digit id starting with 1 is not in the card range.
    const id = Number('1234567890123456789');
    expect(sanitizer.value({ card: Number(card19), id, n: 2 ** 60 })).toEqual({ card: R, id, n: 2 ** 60 });
  });

  it('throws on invalid JSON, like JSON.parse', () => {
    expect(() => sanitizer.json('{"a":')).toThrow(SyntaxError);
  });
});

describe('application patterns', () => {
  it('takes RegExp objects, sources and /source/flags, and replaces only the match', () => {
    const s = new Sanitizer({
      secretPatterns: [/acme_[0-9a-f]{8}/, 'tenant-key-[0-9]{4}', '/(?<=internal:)[a-z]+/i', /x{3}/g],
    });
    expect(s.text('a acme_0badf00d b tenant-key-1234 c INTERNAL:Abc d xxx')).toBe(
      `a ${R} b ${R} c INTERNAL:${R} d ${R}`,
    );
    expect(s.value({ deep: [{ v: 'acme_12345678' }] })).toEqual({ deep: [{ v: R }] });
    expect(s.text('ab')).toBe('ab');
  });

  it('reach the worker through the config as strings (a RegExp does not survive structured clone)', () => {
    const cfg = structuredClone(
      resolveConfig({ redactKeys: ['email'], redactPatterns: [/acme_[0-9a-f]{8}/i, 'tenant-[0-9]{4}'] }, {}),
    );
    expect(cfg.redactPatterns).toEqual(['/acme_[0-9a-f]{8}/gi', '/tenant-[0-9]{4}/g']);
    const s = new Sanitizer({ secretKeys: cfg.redactKeys, secretPatterns: cfg.redactPatterns });
    expect(s.value({ email: 'e', note: 'ACME_0BADF00D and tenant-0042' })).toEqual({
      email: R,
      note: `${R} and ${R}`,
    });
    expect(resolveConfig({}, {}).redactPatterns).toEqual([]);
  });

  it.each([[['([a-z']], [['a*']], [[42]], ['acme']])(
    'resolveConfig refuses redactPatterns %j naming the option',
    (patterns) => {
      try {
        resolveConfig({ redactPatterns: patterns as never }, {});
      } catch (err) {
        expect(isAuditError(err, 'AUDIT_ERR_INVALID_OPTION')).toBe(true);
        expect((err as Error).message).toMatch(/^redactPatterns must be an array of regular expressions/);
        return;
      }
      throw new Error('nothing thrown');
    },
  );
});

describe('hostile values', () => {
  it('keeps NUL bytes and turns lone surrogates into U+FFFD', () => {
    expect(sanitizer.text('a\u0000b password=\u0000x')).toBe(`a\u0000b password=${R}`);
    const out = sanitizer.value({ s: 'x\ud800y', 'k\udc00': 1 }) as Record<string, unknown>;
    expect(out.s).toBe('x\ufffdy');
    // Keys come out sorted (canonical JSON order, for the hash chain).
    expect(Object.keys(out)).toEqual(['k\ufffd', 's']);
    expect(() => new TextEncoder().encode(JSON.stringify(out))).not.toThrow();
  });

  it('scans a 1 MB adversarial string in linear time, for every pattern', () => {
    const adversarial = [
      'eyJ'.repeat(350_000),
      'eyJa.'.repeat(200_000),
      'a'.repeat(1_000_000),
      'password='.repeat(120_000),
      '<password>'.repeat(100_000),
      '"password":"'.repeat(80_000),
      'Authorization: '.repeat(70_000),
      '-----BEGIN RSA PRIVATE KEY-----'.repeat(33_000),
      '-----BEGIN RSA PRIVATE KEY-----'.concat('A'.repeat(1_000_000)),
      '4111 '.repeat(200_000),
      '4'.repeat(1_000_000),
      '1-'.repeat(500_000),
      'Bearer '.repeat(150_000),
      'Basic '.repeat(160_000),
      'ghp_'.repeat(250_000),
      'xoxb-'.repeat(200_000),
      'AKIA'.repeat(250_000),
      '\\'.repeat(1_000_000),
      '<password '.repeat(100_000),
      '<a:b:c:password x="1" '.repeat(50_000),
      '<password><![CDATA['.repeat(50_000),
      '<password>  '.repeat(80_000),
      `password="${'\\"'.repeat(500_000)}`,
    ];
    for (const s of adversarial) {
      const t0 = performance.now();
      const out = sanitizer.text(s);
      const ms = performance.now() - t0;
      expect(typeof out).toBe('string');
      expect(ms, `${JSON.stringify(s.slice(0, 20))}… took ${ms.toFixed(0)} ms`).toBeLessThan(SCAN_LIMIT_MS);
    }
  });
});

describe('hostile structures', () => {
  it('keeps __proto__ and constructor as renamed data keys and pollutes nothing', () => {
    const hostile = JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"ok":1}');
    const out = new Sanitizer().value(hostile) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(['[__proto__]', '[constructor]', 'ok']);
    expect(out['[constructor]']).toEqual({ '[prototype]': { x: 1 } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('cuts depth bombs', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    const out = JSON.stringify(new Sanitizer().value(deep));
    expect(out).toContain('too deep');
    expect(out.length).toBeLessThan(1000);
  });
});

describe('properties', () => {
  it('never throws on any JSON value and returns JSON-serialisable output', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const json = JSON.stringify(sanitizer.value(v));
        expect(typeof json).toBe('string');
        expect(() => JSON.parse(json)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  const secretKey = fc
    .tuple(
      fc.constantFrom(
        'password',
        'token',
        'api_key',
        'apiKey',
        'client_secret',
        'ssn',
        'authorization',
        'cvv',
      ),
      fc.constantFrom('', 'db_', 'x-', 'user'),
      fc.boolean(),
    )
    .map(([k, prefix, upper]) => (upper ? `${prefix}${k}`.toUpperCase() : `${prefix}${k}`));
  const path = fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.nat(5)), { maxLength: 6 });

  /** Puts `value` under `key` at `path` inside a copy of `base`, creating objects and arrays. */
  function insert(base: unknown, steps: Array<string | number>, key: string, value: unknown): unknown {
    const root: Record<string, unknown> = { base };
    let at: Record<string, unknown> | unknown[] = root;
    let name: string | number = 'slot';
    for (const step of steps) {
      const next: Record<string, unknown> | unknown[] =
        typeof step === 'number' ? new Array(step + 1).fill(null) : {};
      if (Array.isArray(at)) at[name as number] = next;
      else
        Object.defineProperty(at, name, {
          value: next,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      at = next;
      name = step;
    }
    const leaf = Object.defineProperty({}, key, { value, enumerable: true });
    if (Array.isArray(at)) at[name as number] = leaf;
    else
      Object.defineProperty(at, name, { value: leaf, enumerable: true, writable: true, configurable: true });
    return root;
  }

  it('never lets the value of a secret key through, wherever it is put', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 3 }),
        path,
        secretKey,
        fc.uuid(),
        fc.constantFrom('plain', 'object', 'array'),
        (base, steps, key, id, shape) => {
          const secret = `S3cret-${id}`;
          const value = shape === 'plain' ? secret : shape === 'object' ? { inner: secret } : [1, secret];
          const out = JSON.stringify(sanitizer.value(insert(base, steps, key, value)));
          expect(out).not.toContain(secret);
          expect(out).toContain(R);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never lets a shaped secret through, whatever text surrounds it', () => {
    const secrets = [
      JWT,
      'AKIAZ3K5QW7R2M4N8P6L',
      `ghp_${'aB3'.repeat(12)}`,
      'xoxb-123456789012-AbCdEfGhIj',
      'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
      'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY',
      '4111 1111 1111 1111',
      '5555555555554444',
    ];
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.constantFrom(...secrets),
        fc.string({ maxLength: 40 }),
        (a, secret, b) => {
          expect(sanitizer.text(`${a} ${secret} ${b}`)).not.toContain(secret);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never pollutes Object.prototype through __proto__ or constructor keys', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 6 }), (v, name) => {
        const text = `{"__proto__":{"polluted_${JSON.stringify(name).slice(1, -1)}":1,"x":${JSON.stringify(v)}},"constructor":{"prototype":{"polluted":1}},"a":[{"__proto__":{"polluted":2}}]}`;
        const out = sanitizer.value(JSON.parse(text)) as Record<string, unknown>;
        expect(Object.getPrototypeOf(out)).toBeNull();
        // Kept as data under renamed keys, which prototype-poisoning guards accept.
        expect(Object.keys(out)).toEqual(['[__proto__]', '[constructor]', 'a']);
        expect(Object.keys(Object.prototype)).toEqual([]);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(JSON.parse(JSON.stringify(out))['[constructor]']['[prototype]'].polluted).toBe(1);
      }),
      { numRuns: 200 },
    );
  });
});
