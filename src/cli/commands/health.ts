// `pdaas-audit health`: the check to run before a deployment (cluster health, the app's credentials,
// its right to _bulk, template and policy in place, each index under the policy), ending in one
// verdict line.

import { createClient, warnIfInsecure } from '../../opensearch/client.js';
import { type Check, checkHealth, type HealthReport, verdictOf } from '../../opensearch/health.js';
import { indexSuffix } from '../../worker/document.js';
import { EXIT, parse } from '../args.js';
import { type Command, loadConfig } from '../context.js';
import { installFlags, installHelp, installSettings } from '../install-options.js';
import { table } from '../output.js';

export const health: Command = {
  summary: 'pre-deployment check: cluster, credentials, bulk permission, template, policy, lifecycle',
  help: `usage: pdaas-audit health [options]

Checks, with the configured credentials (AUDIT_OPENSEARCH_USERNAME/PASSWORD: run it as the
writer to see what the app will see, as an admin to also compare template and policy):
  cluster   reachable, authenticated, cluster health green (yellow: degraded, red: unhealthy)
  auth      user and roles, where the security plugin runs
  bulk      may this user _bulk? A probe with require_alias for today's index: nothing is created
            or written (it proves the request-level bulk permission; index permissions are
            what the audit_writer role from setup grants)
  template  <prefix>-template installed and equal to what setup installs
  policy    <prefix>-lifecycle installed and equal; without the ISM plugin it is noted
            (AUDIT_ERR_ISM_UNAVAILABLE) and fails only with --require-ism
  lifecycle every <prefix>-* index managed by that policy, and in which state (hot, warm, cold,
            delete); an unmanaged index (made before the policy) or a failed ISM step is degraded
A check the user may not make (403 on templates for the writer) is shown as skipped.
The last line is the verdict: "healthy", "degraded: <why>" or "unhealthy: <why>".

options:
${installHelp}
  --require-ism        a cluster without ISM is unhealthy
  --json               {"verdict", "summary", "url", "username", "checks": [{"name", "status",
                       "detail"}]}

exit codes: 0 healthy, 1 degraded or unhealthy, 2 usage error`,

  async run(argv, out) {
    const { values } = parse(argv, { ...installFlags, 'require-ism': { type: 'boolean' } });
    const config = loadConfig(out);
    const { template, policy } = installSettings(values, config);
    const os = config.opensearch;
    let report: HealthReport;
    if (!os.url) {
      const checks: Check[] = [
        {
          name: 'cluster',
          status: 'fail',
          detail: 'no OpenSearch address: pass --url or set AUDIT_OPENSEARCH_URL (or _HOST)',
        },
      ];
      report = { ...verdictOf(checks), checks };
    } else {
      warnIfInsecure(os, config.environment);
      const client = createClient(os);
      try {
        report = await checkHealth(client, {
          template,
          policy,
          probeIndex: `${config.indexPrefix}-${config.serviceName}-${indexSuffix(Date.now(), config.indexRotation)}`,
          ...(os.username !== undefined && { username: os.username }),
          requireIsm: values['require-ism'] ?? false,
        });
      } finally {
        await client.close();
      }
    }
    if (values.json) out.json({ ...report, url: os.url ?? null, username: os.username ?? null });
    else {
      out.out(`OpenSearch ${os.url ?? '(not configured)'}${os.username ? ` as ${os.username}` : ''}`);
      for (const line of table(report.checks.map((c) => [c.name, c.status, c.detail]))) out.out(`  ${line}`);
      out.out(report.summary);
    }
    return report.verdict === 'healthy' ? EXIT.OK : EXIT.FAILED;
  },
};
