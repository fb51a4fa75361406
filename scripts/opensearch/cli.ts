// `npm run opensearch -- <start|stop|status|install> [--port N] [--name NAME] [--fresh] [--secure]`
// and the cluster forms: `start --nodes 3`, `stop --node N [--kill]`, `start --node N`.
import { parseArgs } from 'node:util';
import { DevCluster } from './dev-cluster.js';
import { DevNode } from './dev-node.js';
import { ensureInstalled, findJavaHome, installedPlugins } from './install.js';

const usage = `usage: npm run opensearch -- <start|stop|status|install> [--port N] [--name NAME] [--fresh] [--secure]
  start    download (first time), start and wait for yellow; prints the URL and the export lines
           that point the library, pdaas-audit and the demo at it (1 shard, 0 replicas)
  stop     stop the node; its data is kept for the next start
  status   print the URL, plugins and export lines if running, exit 1 if not
  install  download and unpack only
  --secure the node with the security plugin: https, certificates and admin password in its folder
cluster (the guide's production shape, on 127.0.0.1):
  start --nodes N    start an N-node cluster (ports 9401..; 3 for the guide), wait for green, print
                     every node's URL, one per line, then the export lines
  stop --node N      stop member N (SIGTERM); --kill sends SIGKILL, as a crash would
  start --node N     start member N again and wait until the cluster is green
  stop               stops the single node and every cluster member
  status --nodes N   each member's state and the cluster's health
environment: OPENSEARCH_DEV_PORT (9250), OPENSEARCH_DEV_CLUSTER_PORT (9401), OPENSEARCH_DEV_VERSION (2.19.4), OPENSEARCH_DEV_HEAP (512m),
  OPENSEARCH_DEV_CACHE (.cache/opensearch), OPENSEARCH_DEV_PLUGINS (extra plugin zips, comma-separated),
  OPENSEARCH_DEV_ISM_ZIP (the ISM plugin; default ../shared/opensearch-plugins/), OPENSEARCH_DEV_ISM=0 (no ISM)`;

const EXPORTS_NOTE =
  '# for the library, pdaas-audit and the demo (one shard, no replicas: a one-node cluster is green only so):';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      name: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      secure: { type: 'boolean', default: false },
      nodes: { type: 'string' },
      node: { type: 'string' },
      kill: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(usage);
    return command || values.help ? 0 : 2;
  }
  if (
    values.nodes !== undefined ||
    values.node !== undefined ||
    (command === 'stop' && values.port === undefined)
  )
    return clusterCommand(command, values);
  const node = new DevNode({
    ...(values.port !== undefined && { port: Number(values.port) }),
    ...(values.name !== undefined && { name: values.name }),
    fresh: values.fresh,
    ...(values.secure && { secure: true }),
  });
  switch (command) {
    case 'start':
      console.log(await node.start());
      if (node.secure) {
        console.log(`CA ${node.caFile}; user ${node.adminUser}, password in ${node.nodeDir}/admin-password`);
      }
      console.log(EXPORTS_NOTE);
      for (const line of node.exportLines()) console.log(line);
      return 0;
    case 'stop':
      await node.stop();
      return 0;
    case 'status': {
      const pid = node.pid();
      if (pid === undefined) {
        console.log(`not running (${node.url})`);
        return 1;
      }
      const plugins = node.secure
        ? (await node.get('/_cat/plugins?h=component')).body
        : await fetch(`${node.url}/_cat/plugins?h=component`).then((r) => r.text());
      console.log(
        `running at ${node.url} (pid ${pid}); plugins: ${plugins.trim().split('\n').join(', ') || 'none'}`,
      );
      console.log(EXPORTS_NOTE);
      for (const line of node.exportLines()) console.log(line);
      return 0;
    }
    case 'install': {
      const home = ensureInstalled({
        cache: node.cache,
        version: node.version,
        javaHome: findJavaHome(),
        extraPlugins: [
          ...(node.ismZip ? [node.ismZip] : []),
          ...(process.env.OPENSEARCH_DEV_PLUGINS?.split(',').filter(Boolean) ?? []),
        ],
        log: console.log,
        ...(values.secure && { secure: true }),
      });
      console.log(`${home} (plugins: ${installedPlugins(home).join(', ')})`);
      return 0;
    }
    default:
      console.error(`unknown command '${command}'\n${usage}`);
      return 2;
  }
}

function positive(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

async function clusterCommand(
  command: string,
  values: { nodes?: string; node?: string; kill: boolean; fresh: boolean; secure: boolean },
): Promise<number> {
  const cluster = new DevCluster({
    nodes: positive('--nodes', values.nodes) ?? 3,
    fresh: values.fresh,
    ...(values.secure && { secure: true }),
  });
  const n = positive('--node', values.node);
  switch (command) {
    case 'start':
      if (n !== undefined) {
        await cluster.startNode(n);
        console.log(cluster.member(n).url);
        return 0;
      }
      for (const url of await cluster.start()) console.log(url);
      console.log(
        "# for the library, pdaas-audit and the demo (the guide's five primaries and one replica):",
      );
      for (const line of cluster.exportLines()) console.log(line);
      return 0;
    case 'stop':
      if (n !== undefined) {
        await cluster.stopNode(n, { kill: values.kill });
        return 0;
      }
      await cluster.stop();
      // `stop` alone stops everything the project started: the single node too.
      if (values.nodes === undefined) {
        await new DevNode().stop();
        await new DevNode({ secure: true }).stop();
      }
      return 0;
    case 'status': {
      const health = await cluster.health();
      cluster.members.forEach((m, i) => {
        console.log(`${i + 1} ${m.url} ${m.pid() === undefined ? 'stopped' : `running (pid ${m.pid()})`}`);
      });
      console.log(
        health ? `cluster ${health.status}, ${health.number_of_nodes} nodes` : 'cluster not answering',
      );
      return health ? 0 : 1;
    }
    default:
      console.error(`'${command}' does not take --nodes or --node\n${usage}`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`opensearch: ${err.message}`);
    process.exit(1);
  },
);
