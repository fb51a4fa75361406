// Certificates made by openssl for one test run, all for 127.0.0.1: a self-signed server
// certificate, and a CA with a leaf certificate it signed. The caller removes `dir`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export interface TestCerts {
  dir: string;
  selfKey: Buffer;
  selfCert: Buffer;
  caCert: Buffer;
  leafKey: Buffer;
  leafCert: Buffer;
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'audit-certs-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const key = ['-newkey', 'rsa:2048', '-nodes', '-days', '1'];
  openssl(
    'req',
    '-x509',
    ...key,
    '-keyout',
    'self.key',
    '-out',
    'self.crt',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  );
  openssl('req', '-x509', ...key, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=test CA');
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'leaf.key',
    '-out',
    'leaf.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.crt',
    '-days',
    '1',
    '-extfile',
    'leaf.ext',
  );
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    dir,
    selfKey: read('self.key'),
    selfCert: read('self.crt'),
    caCert: read('ca.crt'),
    leafKey: read('leaf.key'),
    leafCert: read('leaf.crt'),
  };
}

/**
 * For a test file: certificates made before its tests, and the local servers it pushes onto
 * `servers`, closed after them, with the certificates' folder removed.
 */
export function useCertsAndServers(): {
  certs: () => TestCerts;
  servers: Array<http.Server | https.Server>;
  /** Starts `server` on 127.0.0.1 (`port`, or a free one), closed after the file's tests; its port. */
  listen: (server: http.Server | https.Server, port?: number) => Promise<number>;
} {
  let certs: TestCerts | undefined;
  const servers: Array<http.Server | https.Server> = [];
  beforeAll(() => {
    certs = makeTestCerts();
  });
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });
  return {
    certs: () => {
      if (!certs) throw new Error('certificates are made in beforeAll');
      return certs;
    },
    servers,
    listen: async (server, port = 0) => {
      servers.push(server);
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      return (server.address() as AddressInfo).port;
    },
  };
}

/** A port nothing listens on: bound, then closed. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
