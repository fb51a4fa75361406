// The secure dev node's configuration: a CA, a node and an admin certificate made by openssl, a
// generated admin password (its bcrypt hash for the security plugin, the clear text beside the
// node's data) and the security plugin's TLS and auth settings.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { run } from './install.js';

/** The security plugin's super user on a secure node; its password is generated per node. */
export const ADMIN_USER = 'admin';

export interface SecureConfigOptions {
  /** The unpacked secure distribution. */
  home: string;
  javaHome: string;
  /** The node's folder: its config goes to <nodeDir>/config. */
  nodeDir: string;
  /** Where the admin password is written (mode 0600). */
  passwordFile: string;
  log: (line: string) => void;
}

/**
 * Secure node, first start (or after `fresh`): a config folder of its own (OPENSEARCH_PATH_CONF)
 * copied from the distribution, with a CA, a node certificate (SAN localhost, 127.0.0.1) and an
 * admin client certificate made by openssl, a generated admin password (its bcrypt hash in
 * internal_users.yml, the clear text in `<nodeDir>/admin-password`) and the security settings.
 * The security index is created from these files on first start. Returns the config folder.
 */
export function secureConfig({ home, javaHome, nodeDir, passwordFile, log }: SecureConfigOptions): string {
  const conf = join(nodeDir, 'config');
  const marker = join(conf, '.pdaas-secure');
  if (existsSync(marker) && existsSync(passwordFile)) return conf;
  rmSync(conf, { recursive: true, force: true });
  cpSync(join(home, 'config'), conf, { recursive: true });
  const certs = join(conf, 'certs');
  mkdirSync(certs, { recursive: true });
  log(`generating a CA, node and admin certificates and an admin password in ${nodeDir}`);
  const cnf = join(certs, 'openssl.cnf');
  writeFileSync(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = unused',
      '[ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '[node]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = serverAuth,clientAuth',
      'subjectAltName = DNS:localhost,IP:127.0.0.1',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '[admin]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = clientAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const f = (name: string) => join(certs, name);
  const openssl = (args: string[], what: string) => run('openssl', args, `openssl: ${what}`);
  openssl(
    [
      'req',
      '-x509',
      '-config',
      cnf,
      '-extensions',
      'ca',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '3650',
      '-subj',
      '/CN=pdaas-dev-ca',
      '-keyout',
      f('ca-key.pem'),
      '-out',
      f('root-ca.pem'),
    ],
    'CA',
  );
  for (const [who, cn] of [
    ['node', 'pdaas-node'],
    ['admin', 'pdaas-admin'],
  ] as const) {
    // -newkey writes PKCS#8 keys ('BEGIN PRIVATE KEY'), the only kind the security plugin reads.
    openssl(
      [
        'req',
        '-new',
        '-config',
        cnf,
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        f(`${who}-key.pem`),
        '-out',
        f(`${who}.csr`),
      ],
      `${who} key`,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        f(`${who}.csr`),
        '-CA',
        f('root-ca.pem'),
        '-CAkey',
        f('ca-key.pem'),
        '-set_serial',
        `0x${randomBytes(8).toString('hex')}`,
        '-sha256',
        '-days',
        '3650',
        '-extfile',
        cnf,
        '-extensions',
        who,
        '-out',
        f(`${who}.pem`),
      ],
      `${who} certificate`,
    );
    rmSync(f(`${who}.csr`));
  }
  rmSync(f('ca-key.pem')); // nothing else is ever signed: the CA key is not kept
  for (const key of ['node-key.pem', 'admin-key.pem']) chmodSync(f(key), 0o600);

  // Upper, lower, digit and symbol, 20+ random characters: passes the plugin's strength rules.
  const password = `Pd9!${randomBytes(18).toString('base64url')}`;
  const hashed = spawnSync(
    'bash',
    [join(home, 'plugins', 'opensearch-security', 'tools', 'hash.sh'), '-p', password],
    {
      encoding: 'utf8',
      env: { ...process.env, JAVA_HOME: javaHome, OPENSEARCH_JAVA_HOME: javaHome },
    },
  );
  const hash = /^\$2[aby]\$\d\d\$\S{53}$/m.exec(hashed.stdout ?? '')?.[0];
  if (!hash) throw new Error(`hash.sh gave no bcrypt hash (exit ${hashed.status}): ${hashed.stderr}`);
  const sec = join(conf, 'opensearch-security');
  writeFileSync(
    join(sec, 'internal_users.yml'),
    `_meta:\n  type: "internalusers"\n  config_version: 2\n${ADMIN_USER}:\n  hash: "${hash}"\n  reserved: true\n  backend_roles: ["admin"]\n`,
  );
  // Only the admin mapping: no 'own_index' for every user, so a test user has exactly its roles.
  writeFileSync(
    join(sec, 'roles_mapping.yml'),
    '_meta:\n  type: "rolesmapping"\n  config_version: 2\nall_access:\n  reserved: false\n  backend_roles: ["admin"]\n',
  );
  appendFileSync(
    join(conf, 'opensearch.yml'),
    [
      '',
      '# pdaas secure dev node',
      'plugins.security.ssl.transport.pemcert_filepath: certs/node.pem',
      'plugins.security.ssl.transport.pemkey_filepath: certs/node-key.pem',
      'plugins.security.ssl.transport.pemtrustedcas_filepath: certs/root-ca.pem',
      'plugins.security.ssl.transport.enforce_hostname_verification: false',
      'plugins.security.ssl.http.enabled: true',
      'plugins.security.ssl.http.pemcert_filepath: certs/node.pem',
      'plugins.security.ssl.http.pemkey_filepath: certs/node-key.pem',
      'plugins.security.ssl.http.pemtrustedcas_filepath: certs/root-ca.pem',
      'plugins.security.allow_default_init_securityindex: true',
      'plugins.security.authcz.admin_dn: ["CN=pdaas-admin"]',
      'plugins.security.nodes_dn: ["CN=pdaas-node"]',
      'plugins.security.restapi.roles_enabled: ["all_access"]',
      'plugins.security.system_indices.enabled: true',
      '',
    ].join('\n'),
  );
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  writeFileSync(marker, '');
  return conf;
}

/**
 * A GET over https verified with `ca` (Node's global fetch cannot take a CA, so this uses
 * node:https).
 */
export function httpsGet(
  url: string,
  opts: { ca: Buffer; auth: string; timeoutMs: number },
): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { ca: opts.ca, auth: opts.auth, timeout: opts.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', fail);
    req.end();
  });
}

/**
 * A cluster member's secure config: a copy of the first member's (config folder and admin
 * password), so every member presents the same CA and node certificate (nodes_dn) and one admin
 * password opens the cluster. Returns the config folder.
 */
export function copySecureConfig(fromNodeDir: string, toNodeDir: string): string {
  const conf = join(toNodeDir, 'config');
  const password = join(toNodeDir, 'admin-password');
  if (existsSync(join(conf, '.pdaas-secure')) && existsSync(password)) return conf;
  rmSync(conf, { recursive: true, force: true });
  cpSync(join(fromNodeDir, 'config'), conf, { recursive: true });
  cpSync(join(fromNodeDir, 'admin-password'), password);
  chmodSync(password, 0o600);
  return conf;
}
