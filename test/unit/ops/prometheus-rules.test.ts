// The shipped Prometheus alert rules, checked by Prometheus' own tool (promtool, from Debian's
// prometheus package) and held to the metric names the library really exports.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createAudit } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = new URL('../../../ops/prometheus/', import.meta.url).pathname;

describe('ops/prometheus/audit-rules.yml', () => {
  it('passes promtool check rules and its unit tests (promtool test rules)', async () => {
    const check = await run('promtool', ['check', 'rules', 'audit-rules.yml'], { cwd: dir });
    expect(check.stdout).toContain('SUCCESS: 9 rules found');
    const test = await run('promtool', ['test', 'rules', 'audit-rules.test.yml'], { cwd: dir });
    expect(`${test.stdout}${test.stderr}`).toContain('SUCCESS');
  });

  it('uses only metrics the library exports', async () => {
    const registry = new Registry();
    const audit = await createAudit({
      registry,
      enabled: false,
      logger: { info() {}, warn() {}, error() {} },
    });
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    await audit.close();
    const rules = readFileSync(`${dir}audit-rules.yml`, 'utf8');
    const used = new Set(
      [...rules.matchAll(/\b(audit_[a-z_]+|circuit_breaker_state)\b/g)].map((m) =>
        (m[1] as string).replace(/_(bucket|sum|count)$/, ''),
      ),
    );
    expect(used.size).toBeGreaterThanOrEqual(8);
    for (const name of used) expect(exported, name).toContain(name);
  });
});
