// A three-node (or N-node) OpenSearch cluster on 127.0.0.1, the production shape of the deployment
// guide on one machine: every member is a DevNode with its own port, data and pid file, found by
// the others over their transport ports. Members start and stop one at a time (kill -9 too), so
// tests can take nodes away under load. `secure: true` gives TLS on HTTP and transport: the first
// member makes the CA, certificates and admin password, the others copy them.
import { rmSync } from 'node:fs';
import { DevNode, type DevNodeOptions } from './dev-node.js';

export interface DevClusterOptions
  extends Pick<DevNodeOptions, 'version' | 'cache' | 'fresh' | 'ism' | 'log'> {
  /** Members; default 3. */
  nodes?: number;
  /** HTTP port of member 1; member i listens on basePort + i - 1 (transport: plus 100). */
  basePort?: number;
  /** Names the cluster and its data folders; default 'cluster'. */
  name?: string;
  /** JVM heap per member; default 512m (three members and the app fit 2 cores and a few GiB). */
  heap?: string;
  secure?: boolean;
  startTimeoutMs?: number;
}

export class DevCluster {
  readonly members: readonly DevNode[];
  readonly name: string;
  #fresh: boolean;

  constructor(opts: DevClusterOptions = {}) {
    const env = process.env;
    const count = opts.nodes ?? 3;
    if (!Number.isInteger(count) || count < 1 || count > 9)
      throw new Error(`--nodes must be 1..9, got ${count}`);
    const basePort = opts.basePort ?? Number(env.OPENSEARCH_DEV_CLUSTER_PORT ?? 9401);
    this.name = opts.name ?? 'cluster';
    const ports = Array.from({ length: count }, (_, i) => basePort + i);
    const nodeNames = ports.map((_, i) => `${this.name}-${i + 1}`);
    const first = new DevNode({ ...opts, name: nodeNames[0] as string, port: basePort });
    this.#fresh = opts.fresh ?? false;
    this.members = ports.map(
      (port, i) =>
        new DevNode({
          ...opts,
          // A member started again must keep its data (a wiped one would bootstrap a new cluster):
          // `fresh` wipes the members once, in start().
          fresh: false,
          heap: opts.heap ?? env.OPENSEARCH_DEV_HEAP ?? '512m',
          name: nodeNames[i] as string,
          port,
          cluster: { name: `pdaas-audit-${this.name}`, transportPorts: ports.map((p) => p + 100), nodeNames },
          ...(opts.secure && { secureConfigFrom: first.nodeDir }),
        }),
    );
  }

  get urls(): string[] {
    return this.members.map((m) => m.url);
  }

  /** Member `n` (1-based), as the CLI and the runbook number them. */
  member(n: number): DevNode {
    const m = this.members[n - 1];
    if (!m) throw new Error(`--node must be 1..${this.members.length}, got ${n}`);
    return m;
  }

  /**
   * Starts every member not running (the first alone first when secure: it makes the certificates
   * the others copy) and waits until the cluster is green with all of them (`until: 'joined'`: all
   * of them in and every primary active, yellow). Returns the URLs.
   */
  async start(opts: { until?: 'green' | 'joined' } = {}): Promise<string[]> {
    // Once: a member wiped after the cluster formed would try to bootstrap another one.
    if (this.#fresh) {
      for (const m of this.members)
        if (m.pid() === undefined) rmSync(m.nodeDir, { recursive: true, force: true });
      this.#fresh = false;
    }
    const exits: Array<() => number | null | undefined> = [];
    for (const m of this.members) exits.push(await m.launch());
    const first = this.members[0] as DevNode;
    const status = opts.until === 'joined' ? 'yellow' : 'green';
    await first.waitUntil(
      () => this.#formed(status),
      `form a ${status} cluster of ${this.members.length}`,
      () => exits.find((e) => e() !== undefined)?.(),
    );
    return this.urls;
  }

  /**
   * Starts member `n` again and waits until it has joined and the cluster is green (the guide's
   * rolling restart), or with `until: 'joined'` only until all members are in and no primary is
   * missing (yellow): replicas may still be recovering.
   */
  async startNode(n: number, opts: { until?: 'green' | 'joined' } = {}): Promise<void> {
    const m = this.member(n);
    const exited = await m.launch();
    const status = opts.until === 'joined' ? 'yellow' : 'green';
    await m.waitUntil(
      () => this.#formed(status),
      `rejoin (cluster ${status} with ${this.members.length})`,
      exited,
    );
  }

  /** Stops member `n`: SIGTERM (a clean shutdown) or, with `kill`, SIGKILL as a crash would. */
  async stopNode(n: number, opts: { kill?: boolean } = {}): Promise<void> {
    await this.member(n).stop(30_000, opts);
  }

  /** Stops every member. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }

  /** Members whose process is running. */
  running(): number[] {
    return this.members.flatMap((m, i) => (m.pid() !== undefined ? [i + 1] : []));
  }

  /** True once the cluster is green with every member, within `ms`; false when it is not by then. */
  async greenWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await this.#formed('green')) return true;
      await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  }

  /** The health any running member reports, or undefined when none answers. */
  async health(): Promise<{ status: string; number_of_nodes: number } | undefined> {
    for (const m of this.members) {
      if (m.pid() === undefined) continue;
      const h = await m.health();
      if (h) return h;
    }
    return undefined;
  }

  async #formed(status: 'green' | 'yellow'): Promise<boolean> {
    const h = await this.health();
    if (!h || h.number_of_nodes < this.members.length) return false;
    return status === 'yellow' ? h.status !== 'red' : h.status === 'green';
  }

  /** The export lines for the library, pdaas-audit and the demo: every member's URL. */
  exportLines(): string[] {
    const lines = this.members[0]?.exportLines() ?? [];
    return [
      `export AUDIT_OPENSEARCH_URL=${this.urls.join(',')}`,
      // The guide's production settings: five primaries with one replica each.
      'export AUDIT_INDEX_SHARDS=5',
      'export AUDIT_INDEX_REPLICAS=1',
      ...lines.filter((l) => !/AUDIT_OPENSEARCH_URL|AUDIT_INDEX_SHARDS|AUDIT_INDEX_REPLICAS/.test(l)),
    ];
  }
}
