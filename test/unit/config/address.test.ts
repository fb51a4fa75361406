// The OpenSearch address as URLs (AUDIT_OPENSEARCH_URL, opensearch.url) next to the deployment
// guide's host and port: what a URL may hold, the exact messages of what it may not, and the rule
// when both forms are given.
import { describe, expect, it } from 'vitest';
import { describeConfig, resolveConfig } from '../../../src/config/resolve.js';
import { invalid } from '../../support/config-errors.js';

const message = (env: Record<string, string>, options = {}) =>
  invalid(() => resolveConfig(options, env)).message;

const EXPECTED =
  'comma-separated http(s)://host[:port] URLs (port default 80/443), one scheme, no path or credentials';
const SAME_WAY = 'give the OpenSearch address one way, as URLs or as host and port, and unset the other';

describe('AUDIT_OPENSEARCH_URL', () => {
  it('takes the URL the dev node prints: scheme, host and port, and http means no TLS', () => {
    const os = resolveConfig({}, { AUDIT_OPENSEARCH_URL: 'http://127.0.0.1:9250' }).opensearch;
    expect(os).toMatchObject({
      url: 'http://127.0.0.1:9250',
      nodes: ['http://127.0.0.1:9250'],
      host: '127.0.0.1',
      port: 9250,
      useSsl: false,
    });
  });

  it('takes several nodes, comma-separated, in order; https turns TLS on', () => {
    const os = resolveConfig(
      {},
      { AUDIT_OPENSEARCH_URL: ' https://os-1:9200, https://os-2:9201/ ,' },
    ).opensearch;
    expect(os.nodes).toEqual(['https://os-1:9200', 'https://os-2:9201']);
    expect(os.url).toBe('https://os-1:9200,https://os-2:9201');
    expect(os).toMatchObject({ host: 'os-1', port: 9200, useSsl: true });
  });

  it("writes the scheme's port when none is given, lowercases the host and keeps IPv6 brackets", () => {
    expect(resolveConfig({}, { AUDIT_OPENSEARCH_URL: 'https://OS.Example' }).opensearch.nodes).toEqual([
      'https://os.example:443',
    ]);
    expect(resolveConfig({}, { AUDIT_OPENSEARCH_URL: 'http://os' }).opensearch.nodes).toEqual([
      'http://os:80',
    ]);
    const v6 = resolveConfig({}, { AUDIT_OPENSEARCH_URL: 'http://[::1]:9200' }).opensearch;
    expect(v6.nodes).toEqual(['http://[::1]:9200']);
    expect(v6.host).toBe('::1');
  });

  it('takes the option as a string or an array of strings', () => {
    expect(resolveConfig({ opensearch: { url: 'http://a:1,http://b:2' } }, {}).opensearch.nodes).toEqual([
      'http://a:1',
      'http://b:2',
    ]);
    expect(resolveConfig({ opensearch: { url: ['http://a:1', 'http://b:2'] } }, {}).opensearch.url).toBe(
      'http://a:1,http://b:2',
    );
  });

  it.each([
    [
      'http://admin:s3cret-Pw@127.0.0.1:9250',
      'AUDIT_OPENSEARCH_URL must not contain a user name or password (the value is not shown): URLs get logged; set AUDIT_OPENSEARCH_USERNAME and AUDIT_OPENSEARCH_PASSWORD instead',
    ],
    [
      'http://admin@127.0.0.1:9250',
      'AUDIT_OPENSEARCH_URL must not contain a user name or password (the value is not shown): URLs get logged; set AUDIT_OPENSEARCH_USERNAME and AUDIT_OPENSEARCH_PASSWORD instead',
    ],
    ['ftp://os:21', 'AUDIT_OPENSEARCH_URL must use http:// or https://, got "ftp://os:21"'],
    ['localhost:9200', 'AUDIT_OPENSEARCH_URL must use http:// or https://, got "localhost:9200"'],
    [
      'http://os:9200/audit',
      `AUDIT_OPENSEARCH_URL must be a node's address without a path, query or fragment, got "http://os:9200/audit"`,
    ],
    [
      'http://os:9200/?pretty',
      `AUDIT_OPENSEARCH_URL must be a node's address without a path, query or fragment, got "http://os:9200/?…"`,
    ],
    [
      'http://os:9200#x',
      `AUDIT_OPENSEARCH_URL must be a node's address without a path, query or fragment, got "http://os:9200/#…"`,
    ],
    [
      'http://a:9200,https://b:9200',
      'AUDIT_OPENSEARCH_URL mixes http ("a:9200") and https ("b:9200"): every node of a cluster is reached the same way',
    ],
    ['os 9200', `AUDIT_OPENSEARCH_URL must be ${EXPECTED}, got "os 9200"`],
    ['', `AUDIT_OPENSEARCH_URL must be ${EXPECTED}, got ""`],
    [' , ', `AUDIT_OPENSEARCH_URL must be ${EXPECTED}, got " , "`],
    ['http://:9200', `AUDIT_OPENSEARCH_URL must be ${EXPECTED}, got "http://:9200"`],
  ])('refuses %j with its own message', (url, expected) => {
    expect(message({ AUDIT_OPENSEARCH_URL: url })).toBe(expected);
  });

  it('never shows a password written into a URL, in any message', () => {
    for (const url of [
      'http://admin:s3cret-Pw@os:9200',
      'https://admin:s3cret-Pw@os:9200/path',
      'http://ok:9200,http://u:s3cret-Pw@b:9200',
      'admin:s3cret-Pw@os:9200',
      'http://u:s3cret/Pw@os:9200',
      // A comma in the password, and a key in a query.
      'http://admin:s3cret,Pw@os:9200',
      'https://os:9200/?api_key=s3cret-admin',
    ]) {
      const text = message({ AUDIT_OPENSEARCH_URL: url });
      expect(text).not.toContain('s3cret');
      expect(text).not.toContain('admin');
    }
    expect(message({}, { opensearch: { url: 'http://u:s3cret-Pw@os:9200' } })).toBe(
      'opensearch.url must not contain a user name or password (the value is not shown): URLs get logged; set AUDIT_OPENSEARCH_USERNAME and AUDIT_OPENSEARCH_PASSWORD instead',
    );
  });

  it('refuses port 0, as AUDIT_OPENSEARCH_PORT does', () => {
    expect(message({ AUDIT_OPENSEARCH_URL: 'http://os:0' })).toBe(
      'AUDIT_OPENSEARCH_URL must name a port from 1 to 65535, got "http://os:0/"',
    );
  });

  it('names the option for a wrong code value', () => {
    expect(message({}, { opensearch: { url: 42 as never } })).toBe(
      `opensearch.url must be ${EXPECTED}, got a number`,
    );
  });

  it('keeps the password out of describeConfig', () => {
    const config = resolveConfig(
      {},
      {
        AUDIT_OPENSEARCH_URL: 'https://os-1:9200,https://os-2:9200',
        AUDIT_OPENSEARCH_USERNAME: 'audit_writer',
        AUDIT_OPENSEARCH_PASSWORD: 'Pa55-zebra-QUOKKA-91!',
      },
    );
    const described = describeConfig(config);
    expect(JSON.stringify(described)).not.toContain('Pa55-zebra');
    expect(described.opensearch).toMatchObject({
      url: 'https://os-1:9200,https://os-2:9200',
      nodes: ['https://os-1:9200', 'https://os-2:9200'],
      username: 'audit_writer',
      password: '***',
    });
    // A hand-made config with credentials in a node URL is hidden too.
    const leaky = {
      ...config,
      opensearch: { ...config.opensearch, url: 'http://u:pw-XYZ@h:1', nodes: ['http://u:pw-XYZ@h:1'] },
    };
    expect(JSON.stringify(describeConfig(leaky))).not.toContain('pw-XYZ');
  });
});

describe('URL and host/port both given', () => {
  it('is an error naming both when both are variables', () => {
    expect(message({ AUDIT_OPENSEARCH_URL: 'http://a:9250', AUDIT_OPENSEARCH_HOST: 'b' })).toBe(
      `AUDIT_OPENSEARCH_URL is set together with AUDIT_OPENSEARCH_HOST: ${SAME_WAY}`,
    );
    expect(
      message({
        AUDIT_OPENSEARCH_URL: 'http://a:9250',
        AUDIT_OPENSEARCH_HOST: 'b',
        AUDIT_OPENSEARCH_PORT: '9200',
      }),
    ).toBe(
      `AUDIT_OPENSEARCH_URL is set together with AUDIT_OPENSEARCH_HOST and AUDIT_OPENSEARCH_PORT: ${SAME_WAY}`,
    );
    expect(message({ AUDIT_OPENSEARCH_URL: 'http://a:9250', AUDIT_OPENSEARCH_PORT: '9200' })).toBe(
      `AUDIT_OPENSEARCH_URL is set together with AUDIT_OPENSEARCH_PORT: ${SAME_WAY}`,
    );
  });

  it('is an error naming both when both are options', () => {
    expect(message({}, { opensearch: { url: 'http://a:9250', host: 'b' } })).toBe(
      `opensearch.url is set together with opensearch.host: ${SAME_WAY}`,
    );
    // a code port cannot complete an address the environment gives as a URL
    expect(message({ AUDIT_OPENSEARCH_URL: 'http://a:9250' }, { opensearch: { port: 9201 } })).toBe(
      `AUDIT_OPENSEARCH_URL is set together with opensearch.port: ${SAME_WAY}`,
    );
  });

  it('lets an address in code replace the one in the environment, whichever form each has', () => {
    const guide = {
      AUDIT_OPENSEARCH_HOST: 'opensearch.prod.internal',
      AUDIT_OPENSEARCH_PORT: '9200',
      AUDIT_OPENSEARCH_USE_SSL: 'true',
    };
    expect(resolveConfig({ opensearch: { url: 'http://127.0.0.1:9250' } }, guide).opensearch).toMatchObject({
      nodes: ['http://127.0.0.1:9250'],
      useSsl: false,
    });
    expect(
      resolveConfig({ opensearch: { host: 'code-host' } }, { AUDIT_OPENSEARCH_URL: 'http://a:9250' })
        .opensearch,
    ).toMatchObject({ nodes: ['http://code-host:9200'], host: 'code-host', port: 9200 });
  });

  it('keeps the guide’s host, port and TLS variables working exactly as before', () => {
    const os = resolveConfig(
      {},
      {
        AUDIT_OPENSEARCH_HOST: 'opensearch.prod.internal',
        AUDIT_OPENSEARCH_PORT: '9200',
        AUDIT_OPENSEARCH_USE_SSL: 'true',
      },
    ).opensearch;
    expect(os).toMatchObject({
      url: 'https://opensearch.prod.internal:9200',
      nodes: ['https://opensearch.prod.internal:9200'],
    });
    expect(resolveConfig({}, {}).opensearch).toMatchObject({ url: undefined, nodes: [] });
  });

  it('lets AUDIT_OPENSEARCH_USE_SSL agree with the scheme, and refuses it when it disagrees', () => {
    expect(
      resolveConfig({}, { AUDIT_OPENSEARCH_URL: 'https://a:9200', AUDIT_OPENSEARCH_USE_SSL: 'true' })
        .opensearch.useSsl,
    ).toBe(true);
    expect(message({ AUDIT_OPENSEARCH_URL: 'http://a:9200', AUDIT_OPENSEARCH_USE_SSL: 'true' })).toBe(
      'AUDIT_OPENSEARCH_USE_SSL is true but AUDIT_OPENSEARCH_URL is http: with URLs the scheme decides TLS; unset AUDIT_OPENSEARCH_USE_SSL or change the scheme',
    );
    expect(message({ AUDIT_OPENSEARCH_URL: 'https://a:9200' }, { opensearch: { useSsl: false } })).toBe(
      'opensearch.useSsl is false but AUDIT_OPENSEARCH_URL is https: with URLs the scheme decides TLS; unset opensearch.useSsl or change the scheme',
    );
  });
});

describe('AUDIT_OPENSEARCH_HOST as a list of host[:port]', () => {
  it('makes one node per entry, the port of AUDIT_OPENSEARCH_PORT where an entry names none', () => {
    const os = resolveConfig(
      {},
      {
        AUDIT_OPENSEARCH_HOST: ' os-1 , os-2:9201,10.0.0.3,[::1]:9203, fe80::1 ',
        AUDIT_OPENSEARCH_PORT: '9300',
        AUDIT_OPENSEARCH_USE_SSL: 'true',
      },
    ).opensearch;
    expect(os.nodes).toEqual([
      'https://os-1:9300',
      'https://os-2:9201',
      'https://10.0.0.3:9300',
      'https://[::1]:9203',
      'https://[fe80::1]:9300',
    ]);
    expect(os).toMatchObject({ host: 'os-1', port: 9300, useSsl: true });
    expect(resolveConfig({ opensearch: { host: ['a', 'b:9250'] } }, {}).opensearch.nodes).toEqual([
      'http://a:9200',
      'http://b:9250',
    ]);
    // Empty entries (a trailing comma) are skipped; one host, as the guide writes it, is one node.
    expect(resolveConfig({}, { AUDIT_OPENSEARCH_HOST: 'os-1,,' }).opensearch.nodes).toEqual([
      'http://os-1:9200',
    ]);
    expect(resolveConfig({}, { AUDIT_OPENSEARCH_HOST: 'os' }).opensearch.nodes).toEqual(['http://os:9200']);
  });

  it.each([
    ['os-1,os-2:0', '"os-2:0" is not one'],
    ['os-1,os-2:65536', '"os-2:65536" is not one'],
    ['os-1,https://os-2:9200', '"https://os-2:9200" is not one (a URL goes in AUDIT_OPENSEARCH_URL)'],
    ['admin:secret@os-1', '"***@os-1" is not one'],
    ['os 1', '"os 1" is not one'],
    ['[::1', '"[::1" is not one'],
  ])('refuses %j, naming the entry at fault', (value, part) => {
    const m = message({ AUDIT_OPENSEARCH_HOST: value });
    expect(m).toContain(
      'AUDIT_OPENSEARCH_HOST must be a hostname or IP address without scheme, or a comma-separated list of host[:port]',
    );
    expect(m).toContain(part);
    expect(m).not.toContain('secret');
  });

  it('turns sniffing on only when asked', () => {
    expect(resolveConfig({}, { AUDIT_OPENSEARCH_HOST: 'os' }).opensearch.sniff).toBe(false);
    expect(
      resolveConfig({}, { AUDIT_OPENSEARCH_HOST: 'os', AUDIT_OPENSEARCH_SNIFF: 'true' }).opensearch.sniff,
    ).toBe(true);
  });
});
