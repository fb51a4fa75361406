// The check to run before a deployment, done with the credentials the app will use: can it
// reach the cluster and read its health, is it allowed to `_bulk`, and are the template and the
// lifecycle policy installed as `setup` would install them. Nothing is written: the bulk probe sets
// `require_alias`, so its one item is refused before any index is created or document stored.
import type { Client } from '@opensearch-project/opensearch';
import { isAuditError } from '../errors.js';
import { explainFailure, explainFailureChecked, explainStatus } from './explain.js';
import {
  explainedNothing,
  explainPath,
  type LifecycleOptions,
  lifecycleLabel,
  lifecyclePolicy,
  parseExplain,
  policyDifferences,
  policyId,
  policyPath,
} from './lifecycle.js';
import { describe, noHandler, send } from './request.js';
import { indexTemplate, type TemplateOptions, templateDifferences, templateName } from './template.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';
export type CheckName = 'cluster' | 'auth' | 'bulk' | 'template' | 'policy' | 'lifecycle';

export interface Check {
  name: CheckName;
  status: CheckStatus;
  detail: string;
}

export type Verdict = 'healthy' | 'degraded' | 'unhealthy';

/**
 * The outcome of checkHealth(): one verdict, a readable summary, and each check.
 *
 * @example
 * for (const check of report.checks) console.log(check.name, check.status, check.detail);
 */
export interface HealthReport {
  /** unhealthy if a check failed, degraded if one warned, else healthy. */
  verdict: Verdict;
  /** `healthy`, or `degraded: …` / `unhealthy: …` naming what is wrong. */
  summary: string;
  checks: Check[];
}

/**
 * What checkHealth() compares against and probes.
 *
 * @example
 * await checkHealth(client, { template: { prefix: 'audit' }, policy: { deleteAfterDays: 365 }, probeIndex: 'audit-api-2026-12-02' });
 */
export interface HealthOptions {
  template: TemplateOptions;
  policy: LifecycleOptions;
  /** The index the app writes to today: the bulk probe names it. */
  probeIndex: string;
  /** Who we connect as, for messages; undefined without credentials. */
  username?: string;
  /** A cluster without ISM fails the check instead of being noted. */
  requireIsm?: boolean;
}

/** The first few differences, so a verdict line stays readable. */
function listed(diff: readonly string[]): string {
  return diff.length > 3 ? `${diff.slice(0, 3).join(', ')} and ${diff.length - 3} more` : diff.join(', ');
}

export function verdictOf(checks: readonly Check[]): Pick<HealthReport, 'verdict' | 'summary'> {
  const reasons = (s: CheckStatus) =>
    checks
      .filter((c) => c.status === s)
      .map((c) => `${c.name}: ${c.detail}`)
      .join('; ');
  if (checks.some((c) => c.status === 'fail'))
    return { verdict: 'unhealthy', summary: `unhealthy: ${reasons('fail')}` };
  if (checks.some((c) => c.status === 'warn'))
    return { verdict: 'degraded', summary: `degraded: ${reasons('warn')}` };
  return { verdict: 'healthy', summary: 'healthy' };
}

function report(checks: Check[]): HealthReport {
  return { ...verdictOf(checks), checks };
}

/**
 * Checks, with the client's credentials and without writing anything: cluster health, the right to
 * `_bulk`, and whether template and lifecycle policy are installed as setup would install them.
 *
 * @example
 * const report = await checkHealth(client, { template: { prefix: 'audit' }, policy: {}, probeIndex: 'audit-api-2026-12-02' });
 * if (report.verdict !== 'healthy') console.error(report.summary);
 */
export async function checkHealth(client: Client, opts: HealthOptions): Promise<HealthReport> {
  const who = opts.username === undefined ? 'without credentials' : `as ${opts.username}`;
  const checks: Check[] = [];
  const skipRest = (why: string) => {
    for (const name of ['auth', 'bulk', 'template', 'policy', 'lifecycle'] as const)
      if (!checks.some((c) => c.name === name))
        checks.push({ name, status: 'skip', detail: `not checked: ${why}` });
    return report(checks);
  };

  let health: Awaited<ReturnType<typeof send>>;
  try {
    health = await send(client, 'GET', '/_cluster/health');
  } catch (err) {
    if (!isAuditError(err, 'AUDIT_ERR_OPENSEARCH')) throw err;
    const why = await explainFailureChecked(err, { username: opts.username });
    checks.push({ name: 'cluster', status: 'fail', detail: why.message });
    return skipRest('OpenSearch unreachable');
  }
  if (health.statusCode === 401) {
    const why = explainStatus(401, health.body, { username: opts.username });
    checks.push({ name: 'cluster', status: 'fail', detail: why.message });
    return skipRest('not authenticated');
  }
  if (health.statusCode !== 200) {
    checks.push({
      name: 'cluster',
      status: 'fail',
      detail: `cluster health ${who} answered ${describe(health)} (the writer needs cluster:monitor/health)`,
    });
  } else {
    const h = health.body as {
      status: string;
      cluster_name: string;
      number_of_nodes: number;
      unassigned_shards: number;
    };
    const about = `${h.cluster_name}, ${h.number_of_nodes} node${h.number_of_nodes === 1 ? '' : 's'}`;
    if (h.status === 'green') checks.push({ name: 'cluster', status: 'ok', detail: `green (${about})` });
    else
      checks.push({
        name: 'cluster',
        status: h.status === 'yellow' ? 'warn' : 'fail',
        detail: `${h.status}: ${h.unassigned_shards} unassigned shards (${about})`,
      });
  }

  const auth = await send(client, 'GET', '/_plugins/_security/authinfo');
  if (noHandler(auth))
    checks.push({
      name: 'auth',
      status: 'skip',
      detail: 'no security plugin: requests are not authenticated',
    });
  else if (auth.statusCode === 200) {
    const a = auth.body as { user_name: string; roles: string[] };
    checks.push({
      name: 'auth',
      status: 'ok',
      detail: `user ${a.user_name}, roles ${a.roles.join(', ') || 'none'}`,
    });
  } else checks.push({ name: 'auth', status: 'fail', detail: `authinfo ${who} answered ${describe(auth)}` });

  checks.push(await probeBulk(client, opts.probeIndex, who));
  checks.push(await checkTemplate(client, opts.template, who));
  checks.push(await checkPolicy(client, opts.policy, who, opts.requireIsm ?? false));
  checks.push(await checkLifecycle(client, opts.policy.prefix ?? 'audit', who));
  return report(checks);
}

async function probeBulk(client: Client, index: string, who: string): Promise<Check> {
  let status: number;
  let item: { status: number; error?: { type?: string; reason?: string } } | undefined;
  try {
    const res = await client.bulk({
      require_alias: true,
      body: [{ create: { _index: index } }, {}],
    } as never);
    const items = (res.body as unknown as { items: Record<string, typeof item>[] }).items;
    item = items[0] && Object.values(items[0])[0];
    status = res.statusCode ?? 200;
  } catch (err) {
    const meta = (err as { meta?: { statusCode?: number; body?: unknown } }).meta;
    if (typeof meta?.statusCode !== 'number')
      return { name: 'bulk', status: 'fail', detail: `_bulk ${who}: ${explainFailure(err).message}` };
    return {
      name: 'bulk',
      status: 'fail',
      detail: `_bulk ${who} answered ${describe({ statusCode: meta.statusCode, body: meta.body })}`,
    };
  }
  // 404 index_not_found from require_alias: the request passed authentication and the bulk
  // permission and stopped before creating or writing anything.
  if (status === 200 && item?.status === 404 && item.error?.type === 'index_not_found_exception')
    return {
      name: 'bulk',
      status: 'ok',
      detail: `may send _bulk ${who} (probe for ${index}, nothing written)`,
    };
  if (item?.status === 403)
    return {
      name: 'bulk',
      status: 'fail',
      detail: `_bulk to ${index} ${who} refused: ${item.error?.reason}`,
    };
  return {
    name: 'bulk',
    status: 'warn',
    detail:
      `unexpected probe answer for ${index}: ${item?.status} ${item?.error?.type ?? ''} ${item?.error?.reason ?? ''}`.trim(),
  };
}

async function checkTemplate(client: Client, opts: TemplateOptions, who: string): Promise<Check> {
  const name = templateName(opts.prefix ?? 'audit');
  const answer = await send(client, 'GET', `/_index_template/${encodeURIComponent(name)}`);
  if (answer.statusCode === 404)
    return { name: 'template', status: 'warn', detail: `${name} missing (run pdaas-audit setup)` };
  if (answer.statusCode === 403)
    return {
      name: 'template',
      status: 'skip',
      detail: `${name} not checked: reading templates is refused ${who}`,
    };
  if (answer.statusCode !== 200)
    return { name: 'template', status: 'fail', detail: `${name}: ${describe(answer)}` };
  const installed = (answer.body as { index_templates: { index_template: unknown }[] }).index_templates[0]
    ?.index_template;
  const diff = templateDifferences(indexTemplate(opts), installed);
  return diff.length === 0
    ? { name: 'template', status: 'ok', detail: `${name} installed as expected` }
    : {
        name: 'template',
        status: 'warn',
        detail: `${name} differs (${listed(diff)}); run pdaas-audit setup`,
      };
}

async function checkPolicy(
  client: Client,
  opts: LifecycleOptions,
  who: string,
  requireIsm: boolean,
): Promise<Check> {
  const name = policyId(opts.prefix ?? 'audit');
  const answer = await send(client, 'GET', policyPath(opts.prefix));
  if (noHandler(answer))
    return {
      name: 'policy',
      status: requireIsm ? 'fail' : 'skip',
      detail: `${name}: AUDIT_ERR_ISM_UNAVAILABLE: no Index State Management plugin, retention is not enforced`,
    };
  if (answer.statusCode === 404)
    return { name: 'policy', status: 'warn', detail: `${name} missing (run pdaas-audit setup)` };
  if (answer.statusCode === 403)
    return {
      name: 'policy',
      status: 'skip',
      detail: `${name} not checked: reading ISM policies is refused ${who}`,
    };
  if (answer.statusCode !== 200)
    return { name: 'policy', status: 'fail', detail: `${name}: ${describe(answer)}` };
  const diff = policyDifferences(lifecyclePolicy(opts), (answer.body as { policy: unknown }).policy);
  return diff.length === 0
    ? { name: 'policy', status: 'ok', detail: `${name} installed as expected` }
    : {
        name: 'policy',
        status: 'warn',
        detail: `${name} differs (${listed(diff)}); run pdaas-audit setup`,
      };
}

/**
 * Whether every audit index is managed by the lifecycle policy, and where each one is. An index
 * made before the policy was installed is not managed (ISM's template only attaches new ones), so
 * retention would never delete it.
 */
async function checkLifecycle(client: Client, prefix: string, who: string): Promise<Check> {
  const policy = policyId(prefix);
  const answer = await send(client, 'GET', explainPath(prefix));
  if (noHandler(answer))
    return { name: 'lifecycle', status: 'skip', detail: 'no Index State Management plugin' };
  if (answer.statusCode === 403)
    return {
      name: 'lifecycle',
      status: 'skip',
      detail: `not checked: ISM explain is refused ${who}`,
    };
  if (explainedNothing(answer))
    return { name: 'lifecycle', status: 'ok', detail: `no ${prefix}-* indices yet` };
  if (answer.statusCode !== 200)
    return { name: 'lifecycle', status: 'fail', detail: `ISM explain: ${describe(answer)}` };
  const indices = parseExplain(answer.body);
  if (indices.length === 0) return { name: 'lifecycle', status: 'ok', detail: `no ${prefix}-* indices yet` };
  const unmanaged = indices.filter((i) => i.policy !== policy).map((i) => i.index);
  const failed = indices.filter((i) => i.failed);
  const states = new Map<string, number>();
  for (const i of indices)
    if (i.policy === policy) {
      const label = lifecycleLabel(i, policy);
      states.set(label, (states.get(label) ?? 0) + 1);
    }
  const summary = [...states].map(([state, n]) => `${state} ${n}`).join(', ');
  const managed = indices.length - unmanaged.length;
  const problems: string[] = [];
  if (unmanaged.length > 0)
    problems.push(
      `${unmanaged.length} of ${indices.length} not managed by ${policy} (${listed(unmanaged)}): retention will not delete them`,
    );
  for (const f of failed.slice(0, 3))
    problems.push(`${f.index} failed in ${f.state ?? 'init'}: ${f.info ?? 'no detail'}`);
  if (problems.length > 0) return { name: 'lifecycle', status: 'warn', detail: problems.join('; ') };
  return {
    name: 'lifecycle',
    status: 'ok',
    detail: `${managed} ${managed === 1 ? 'index' : 'indices'} managed by ${policy} (${summary})`,
  };
}
