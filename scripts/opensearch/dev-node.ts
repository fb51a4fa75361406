// A real single-node OpenSearch for development and tests, started from the Maven-published
// integ-test distribution. OpenSearch refuses to run as root, so as root the node runs as an
// unprivileged system user this module creates. The node is a detached process with a pid file, so
// `start` and `stop` can come from different commands, and its data survives a stop.
// `secure: true` gives a separate node with the security plugin: TLS on HTTP and transport with
// certificates made locally by openssl, and basic auth with a generated admin password.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalled, findJavaHome, installedPlugins, ismPluginZip } from './install.js';
import { ADMIN_USER, copySecureConfig, httpsGet, secureConfig } from './secure.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE_USER = 'pdaas-opensearch';

export interface DevNodeOptions {
  /** OpenSearch version; the integ-test zip and job-scheduler must exist on Maven Central for it. */
  version?: string;
  /** HTTP port on 127.0.0.1; the transport port is this plus 100. */
  port?: number;
  /** Names the data folder, so a dev node and a test node keep separate data. */
  name?: string;
  /** Where downloads, the unpacked distribution and node data live (git-ignored). */
  cache?: string;
  /** JVM heap, for both -Xms and -Xmx. */
  heap?: string;
  /** Wipe this node's data before starting. */
  fresh?: boolean;
  /** Local plugin zips to install as well (comma-separated in OPENSEARCH_DEV_PLUGINS). */
  extraPlugins?: string[];
  /**
   * Install the Index State Management plugin when its zip is found (ismPluginZip). Default true;
   * OPENSEARCH_DEV_ISM=0 turns it off.
   */
  ism?: boolean;
  startTimeoutMs?: number;
  log?: (line: string) => void;
  /**
   * The security plugin with TLS on HTTP and transport and basic auth: its own distribution
   * (`opensearch-<version>-secure`), its own data folder (`nodes/<name>-<port>-secure`), and
   * `url` is https.
   */
  secure?: boolean;
  /**
   * A member of a multi-node cluster (dev-cluster.ts) instead of a single-node one: discovery over
   * the other members' transport ports, and the cluster's name.
   */
  cluster?: ClusterMembership;
  /** Where the secure node's config comes from: another member's, so all share one CA and password. */
  secureConfigFrom?: string;
}

export interface ClusterMembership {
  name: string;
  /** Every member's transport port (its HTTP port plus 100). */
  transportPorts: readonly number[];
  /** Every member's node name: the first election's voters. */
  nodeNames: readonly string[];
}

export class DevNode {
  readonly version: string;
  readonly port: number;
  readonly name: string;
  readonly cache: string;
  readonly heap: string;
  readonly url: string;
  readonly nodeDir: string;
  readonly secure: boolean;
  /** Secure node: the PEM of the CA that signed the node's certificate (exists once started). */
  readonly caFile: string;
  readonly adminUser = ADMIN_USER;
  /** The ISM plugin zip this node installs, or undefined (none found, or turned off). */
  readonly ismZip: string | undefined;
  readonly #fresh: boolean;
  readonly #extraPlugins: string[];
  readonly #startTimeoutMs: number;
  readonly #log: (line: string) => void;
  readonly #cluster: ClusterMembership | undefined;
  readonly #secureConfigFrom: string | undefined;

  constructor(opts: DevNodeOptions = {}) {
    const env = process.env;
    this.version = opts.version ?? env.OPENSEARCH_DEV_VERSION ?? '2.19.4';
    this.port = opts.port ?? Number(env.OPENSEARCH_DEV_PORT ?? 9250);
    if (!Number.isInteger(this.port) || this.port < 1024 || this.port > 65435) {
      throw new Error(`OpenSearch dev port must be an integer in 1024..65435, got ${this.port}`);
    }
    this.name = opts.name ?? 'dev';
    this.cache = resolve(opts.cache ?? env.OPENSEARCH_DEV_CACHE ?? join(repoRoot, '.cache', 'opensearch'));
    this.heap = opts.heap ?? env.OPENSEARCH_DEV_HEAP ?? '512m';
    this.#fresh = opts.fresh ?? false;
    const extra = opts.extraPlugins ?? env.OPENSEARCH_DEV_PLUGINS?.split(',').filter(Boolean) ?? [];
    const ism = opts.ism ?? env.OPENSEARCH_DEV_ISM !== '0';
    this.ismZip = ism ? ismPluginZip(this.version, repoRoot) : undefined;
    // ISM after job-scheduler, which ensureInstalled installs first (ISM extends it).
    this.#extraPlugins = [...(this.ismZip ? [this.ismZip] : []), ...extra.filter((z) => z !== this.ismZip)];
    this.#startTimeoutMs = opts.startTimeoutMs ?? 180_000;
    this.#log = opts.log ?? ((line) => console.log(`[opensearch] ${line}`));
    this.secure = opts.secure ?? false;
    this.#cluster = opts.cluster;
    this.#secureConfigFrom = opts.secureConfigFrom;
    this.url = `${this.secure ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    this.nodeDir = join(this.cache, 'nodes', `${this.name}-${this.port}${this.secure ? '-secure' : ''}`);
    this.caFile = join(this.nodeDir, 'config', 'certs', 'root-ca.pem');
  }

  get #passwordFile(): string {
    return join(this.nodeDir, 'admin-password');
  }

  /** Secure node: the generated admin password (kept in the node's folder, never in git). */
  get adminPassword(): string {
    if (!this.secure) throw new Error('adminPassword: this dev node is not secure');
    if (!existsSync(this.#passwordFile))
      throw new Error(`adminPassword: ${this.#passwordFile} is missing; start the node first`);
    return readFileSync(this.#passwordFile, 'utf8').trim();
  }

  /**
   * The shell lines that point the library, `pdaas-audit` and the demo at this node: its URL, and
   * 1 shard with 0 replicas, without which a one-node cluster stays yellow (a replica has nowhere
   * to go). The secure node adds its CA and admin account; the password is read from its file, so
   * it is never printed.
   */
  exportLines(): string[] {
    const quote = (s: string) => (/^[\w./:@-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
    return [
      `export AUDIT_OPENSEARCH_URL=${this.url}`,
      'export AUDIT_INDEX_SHARDS=1',
      'export AUDIT_INDEX_REPLICAS=0',
      ...(this.secure
        ? [
            `export AUDIT_OPENSEARCH_CA_CERTS=${quote(this.caFile)}`,
            `export AUDIT_OPENSEARCH_USERNAME=${this.adminUser}`,
            `export AUDIT_OPENSEARCH_PASSWORD="$(cat ${quote(this.#passwordFile)})"`,
          ]
        : []),
    ];
  }

  /** path.repo: a filesystem snapshot repository must lie under it (shared by every dev node). */
  get snapshotRoot(): string {
    return join(this.cache, 'snapshots');
  }

  /** OpenSearch's own pid file (`-p`): it deletes it during shutdown. */
  get #pidFile(): string {
    return join(this.nodeDir, 'opensearch.pid');
  }

  /**
   * The pid as we spawned it (bin/opensearch execs java, so it is the node's). pid() reads this
   * one: OpenSearch's own file vanished under a running member in the cluster tests, and a second
   * start on the same data then failed on the node lock.
   */
  get #ownPidFile(): string {
    return join(this.nodeDir, 'node.pid');
  }

  get logFile(): string {
    return join(this.nodeDir, 'stdout.log');
  }

  /** The pid of the running node, or undefined. */
  pid(): number | undefined {
    // A node started before node.pid existed has only OpenSearch's file.
    const file = existsSync(this.#ownPidFile) ? this.#ownPidFile : this.#pidFile;
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** Downloads and installs if needed, then starts the node and waits for yellow. Idempotent. */
  async start(): Promise<string> {
    if (this.pid() !== undefined && (await this.healthy())) {
      this.#log(`already running at ${this.url}`);
      return this.url;
    }
    const launched = await this.launch();
    await this.waitUntil(() => this.healthy(), 'reach yellow', launched);
    return this.url;
  }

  /**
   * Installs if needed and spawns the node without waiting for it (a cluster member cannot answer
   * until the others are up). Returns how to tell whether the process has exited since.
   */
  async launch(): Promise<() => number | null | undefined> {
    if (this.pid() !== undefined) return () => undefined;
    if (await this.healthy()) {
      throw new Error(
        `Port ${this.port} already serves an OpenSearch that is not the '${this.name}' dev node; stop it or choose another port`,
      );
    }
    const javaHome = findJavaHome();
    const home = ensureInstalled({
      cache: this.cache,
      version: this.version,
      javaHome,
      extraPlugins: this.#extraPlugins,
      log: this.#log,
      ...(this.secure && { secure: true }),
    });
    if (this.#fresh) rmSync(this.nodeDir, { recursive: true, force: true });
    const dataDir = join(this.nodeDir, 'data');
    const logsDir = join(this.nodeDir, 'logs');
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(logsDir, { recursive: true });
    mkdirSync(this.snapshotRoot, { recursive: true });
    rmSync(this.#pidFile, { force: true });
    rmSync(this.#ownPidFile, { force: true });
    const confDir = this.secure ? this.#secureConfig(home, javaHome) : undefined;

    const c = this.#cluster;
    const args = [
      ...(c === undefined
        ? ['-Ediscovery.type=single-node', `-Ecluster.name=pdaas-audit-${this.name}`]
        : [
            `-Ecluster.name=${c.name}`,
            `-Ediscovery.seed_hosts=${c.transportPorts.map((p) => `127.0.0.1:${p}`).join(',')}`,
            `-Ecluster.initial_cluster_manager_nodes=${c.nodeNames.join(',')}`,
          ]),
      '-Enetwork.host=127.0.0.1',
      `-Ehttp.port=${this.port}`,
      `-Etransport.port=${this.port + 100}`,
      `-Enode.name=${this.name}`,
      `-Epath.data=${dataDir}`,
      `-Epath.logs=${logsDir}`,
      '-Ecluster.routing.allocation.disk.threshold_enabled=false',
      // The guide's snapshot setting: filesystem repositories under one folder every node shares.
      `-Epath.repo=${this.snapshotRoot}`,
      '-p',
      this.#pidFile,
    ];
    if (installedPlugins(home).includes('opensearch-index-management')) {
      args.push('-Eplugins.index_state_management.job_interval=1');
    }
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      JAVA_HOME: javaHome,
      OPENSEARCH_JAVA_HOME: javaHome,
      OPENSEARCH_JAVA_OPTS: `-Xms${this.heap} -Xmx${this.heap}`,
      ...(confDir !== undefined && { OPENSEARCH_PATH_CONF: confDir }),
    };
    const out = openSync(this.logFile, 'a');
    const bin = join(home, 'bin', 'opensearch');
    const [cmd, cmdArgs] = this.#asNodeUser(bin, args, [this.cache]);
    this.#log(`starting OpenSearch ${this.version} on ${this.url} (heap ${this.heap}, data ${dataDir})`);
    const child = spawn(cmd, cmdArgs, { detached: true, stdio: ['ignore', out, out], env, cwd: home });
    if (child.pid !== undefined) writeFileSync(this.#ownPidFile, `${child.pid}\n`);
    let exited: number | null | undefined;
    child.on('exit', (code) => {
      exited = code;
    });
    child.unref();
    return () => exited;
  }

  /**
   * Polls `ready` until it holds; stops the node and throws with the log's last lines when the
   * process exits or the start timeout passes first.
   */
  async waitUntil(
    ready: () => Promise<boolean>,
    what: string,
    exited: () => number | null | undefined,
  ): Promise<void> {
    const started = Date.now();
    while (Date.now() - started < this.#startTimeoutMs) {
      if (exited() !== undefined) break;
      if (await ready()) {
        this.#log(`${this.url}: ${what} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const code = exited();
    const tail = existsSync(this.logFile)
      ? readFileSync(this.logFile, 'utf8').split('\n').slice(-25).join('\n')
      : '';
    await this.stop().catch(() => undefined);
    throw new Error(
      `OpenSearch did not ${what} within ${this.#startTimeoutMs / 1000} s` +
        `${code !== undefined ? ` (process exited with ${code})` : ''}. Last lines of ${this.logFile}:\n${tail}`,
    );
  }

  /**
   * Stops the node (SIGTERM, then SIGKILL after `graceMs`; `kill: true` sends SIGKILL at once, as a
   * crash would) and waits until it is gone. Data stays.
   */
  async stop(graceMs = 30_000, opts: { kill?: boolean } = {}): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    process.kill(pid, opts.kill ? 'SIGKILL' : 'SIGTERM');
    // Wait for the process, not the pid file: OpenSearch deletes its pid file early in shutdown,
    // and a node started again at once had its new pid file deleted by the old one's exit.
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && alive(pid)) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) {
      process.kill(pid, 'SIGKILL');
      while (alive(pid)) await new Promise((r) => setTimeout(r, 100));
    }
    rmSync(this.#pidFile, { force: true });
    rmSync(this.#ownPidFile, { force: true });
    this.#log(`stopped (pid ${pid})`);
  }

  /** The cluster's health as this node reports it, or undefined when it does not answer. */
  async health(): Promise<{ status: string; number_of_nodes: number } | undefined> {
    try {
      const res = this.secure
        ? await this.get('/_cluster/health')
        : await fetch(`${this.url}/_cluster/health`, { signal: AbortSignal.timeout(3000) }).then(
            async (r) => ({ status: r.status, body: await r.text() }),
          );
      return res.status === 200 ? JSON.parse(res.body) : undefined;
    } catch {
      return undefined;
    }
  }

  /** True when this node answers and the cluster is at least yellow. */
  async healthy(): Promise<boolean> {
    if (this.secure) return this.#healthySecure();
    try {
      const res = await fetch(`${this.url}/_cluster/health?wait_for_status=yellow&timeout=1s`, {
        signal: AbortSignal.timeout(3000),
      });
      if (!res.ok) return false;
      const body = (await res.json()) as { status?: string };
      return body.status === 'yellow' || body.status === 'green';
    } catch {
      return false;
    }
  }

  async #healthySecure(): Promise<boolean> {
    try {
      const res = await this.get('/_cluster/health?wait_for_status=yellow&timeout=1s');
      if (res.status !== 200) return false;
      const body = JSON.parse(res.body) as { status?: string };
      return body.status === 'yellow' || body.status === 'green';
    } catch {
      return false;
    }
  }

  /**
   * Secure node: a GET as admin over https, verified with the node's CA (Node's global fetch cannot
   * take a CA, so this uses node:https).
   */
  get(path: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
    if (!this.secure) throw new Error('get(): only for a secure dev node; use fetch on a plain one');
    return httpsGet(`${this.url}${path}`, {
      ca: readFileSync(this.caFile),
      auth: `${this.adminUser}:${this.adminPassword}`,
      timeoutMs,
    });
  }

  #secureConfig(home: string, javaHome: string): string {
    if (this.#secureConfigFrom !== undefined && this.#secureConfigFrom !== this.nodeDir) {
      return copySecureConfig(this.#secureConfigFrom, this.nodeDir);
    }
    return secureConfig({
      home,
      javaHome,
      nodeDir: this.nodeDir,
      passwordFile: this.#passwordFile,
      log: this.#log,
    });
  }

  /**
   * As root, wraps the command so it runs as an unprivileged system user (created on first use) that
   * owns `owned`. Otherwise returns the command unchanged.
   */
  #asNodeUser(bin: string, args: string[], owned: string[]): [string, string[]] {
    if (process.getuid?.() !== 0) return [bin, args];
    if (spawnSync('id', ['-u', NODE_USER]).status !== 0) {
      const res = spawnSync(
        'useradd',
        ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', NODE_USER],
        {
          encoding: 'utf8',
        },
      );
      if (res.status !== 0) throw new Error(`useradd ${NODE_USER} failed: ${res.stderr}`);
    }
    for (const dir of owned) {
      const res = spawnSync('chown', ['-R', `${NODE_USER}:`, dir], { encoding: 'utf8' });
      if (res.status !== 0) throw new Error(`chown ${dir} failed: ${res.stderr}`);
    }
    ensureTraversable(this.cache, this.#log);
    return ['setpriv', [`--reuid=${NODE_USER}`, `--regid=${NODE_USER}`, '--init-groups', bin, ...args]];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The node user must be able to walk down to the cache. A root-only parent (such as /root) gets the
 * search bit for others (o+x: enter, not list), the least that lets the node reach its files.
 */
function ensureTraversable(dir: string, log: (line: string) => void): void {
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    const probe = spawnSync('setpriv', [
      `--reuid=${NODE_USER}`,
      `--regid=${NODE_USER}`,
      '--clear-groups',
      'test',
      '-x',
      d,
    ]);
    if (probe.status === 0) continue;
    chmodSync(d, statSync(d).mode | 0o001);
    log(`gave others search permission (o+x) on ${d} so ${NODE_USER} can reach ${dir}`);
  }
}
