// `npm run opensearch -- <start|stop|status|install> [--port N] [--name NAME] [--fresh] [--secure]`
import { parseArgs } from 'node:util';
import { DevNode } from './dev-node.js';
import { ensureInstalled, findJavaHome, installedPlugins } from './install.js';

const usage = `usage: npm run opensearch -- <start|stop|status|install> [--port N] [--name NAME] [--fresh] [--secure]
  start    download (first time), start and wait for yellow; prints the URL and the export lines
           that point the library, pdaas-audit and the demo at it (1 shard, 0 replicas)
  stop     stop the node; its data is kept for the next start
  status   print the URL, plugins and export lines if running, exit 1 if not
  install  download and unpack only
  --secure the node with the security plugin: https, certificates and admin password in its folder
environment: OPENSEARCH_DEV_PORT (9250), OPENSEARCH_DEV_VERSION (2.19.4), OPENSEARCH_DEV_HEAP (512m),
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
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(usage);
    return command || values.help ? 0 : 2;
  }
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

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`opensearch: ${err.message}`);
    process.exit(1);
  },
);
