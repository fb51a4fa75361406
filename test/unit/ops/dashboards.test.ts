// The shipped dashboards: the OpenSearch Dashboards saved objects (ops/opensearch-dashboards/) are
// held to the index template's mappings and to the import format of OpenSearch Dashboards 2.x, and
// the Grafana dashboard (ops/grafana/) to the metrics the library registers and to PromQL as
// promtool parses it.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAudit } from '../../../src/audit.js';
import { eventMappings, indexTemplate } from '../../../src/opensearch/template.js';

const run = promisify(execFile);
const ops = new URL('../../../ops/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'audit-dashboards-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const parseString = (v: unknown, what: string): unknown => {
  if (typeof v !== 'string') throw new Error(`${what} is not a JSON string`);
  return JSON.parse(v);
};

// ---------------------------------------------------------------------------------------------
// OpenSearch Dashboards
// ---------------------------------------------------------------------------------------------

interface Reference {
  name: string;
  type: string;
  id: string;
}
interface SavedObject {
  type: string;
  id: string;
  attributes: Json;
  references: Reference[];
  migrationVersion: Record<string, string>;
}
interface Agg {
  id: string;
  type: string;
  schema: string;
  params: Json;
}

/**
 * The newest migration of each type in OpenSearch Dashboards 2.x (visualization_migrations.ts,
 * dashboard_migrations.ts, search_migrations.ts, index_pattern_migrations.ts). An object at these
 * versions is imported as it is; a higher one is refused as "from a newer version".
 */
const MIGRATION_VERSION: Record<string, string> = {
  'index-pattern': '7.6.0',
  visualization: '7.10.0',
  search: '7.9.3',
  dashboard: '7.9.3',
};
const INDEX_REF = 'kibanaSavedObjectMeta.searchSourceJSON.index';
const VIS_TYPES = new Set(['area', 'line', 'histogram', 'horizontal_bar', 'pie', 'table', 'metric']);
const XY_TYPES = new Set(['area', 'line', 'histogram', 'horizontal_bar']);
const METRIC_AGGS = new Set(['count', 'avg', 'sum', 'min', 'max', 'cardinality', 'percentiles', 'median']);
const NUMERIC_AGGS = new Set(['avg', 'sum', 'min', 'max', 'percentiles', 'median']);
const NUMERIC = new Set([
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'half_float',
  'scaled_float',
  'unsigned_long',
]);
const AGGREGATABLE = new Set([...NUMERIC, 'keyword', 'date', 'date_nanos', 'ip', 'boolean']);
const mapping = (field: string) =>
  (eventMappings.properties as Record<string, { type: string; enabled?: boolean }>)[field];

const ndjsonText = readFileSync(`${ops}opensearch-dashboards/audit-system-health.ndjson`, 'utf8');
const lines = ndjsonText.split('\n');
const objects: SavedObject[] = lines.filter((l) => l !== '').map((l) => JSON.parse(l) as SavedObject);
const byKey = new Map(objects.map((o) => [`${o.type}:${o.id}`, o]));
const ofType = (type: string) => objects.filter((o) => o.type === type);
const searchSource = (o: SavedObject) =>
  parseString(
    (o.attributes.kibanaSavedObjectMeta as Json | undefined)?.searchSourceJSON,
    `${o.id} searchSourceJSON`,
  ) as Json;
const visState = (o: SavedObject) =>
  parseString(o.attributes.visState, `${o.id} visState`) as {
    title: string;
    type: string;
    aggs: Agg[];
    params: Json;
  };

describe('ops/opensearch-dashboards/audit-system-health.ndjson', () => {
  it('is one saved object per line, each importable by type, id and attributes', () => {
    expect(ndjsonText.endsWith('\n')).toBe(true);
    expect(lines.slice(0, -1).every((l) => l.trim() !== '')).toBe(true);
    expect(objects.length).toBeGreaterThanOrEqual(9);
    for (const o of objects) {
      // No export summary line ({"exportedCount":…}): import skips it, so it would only go stale.
      expect(Object.keys(MIGRATION_VERSION), `${o.id}`).toContain(o.type);
      expect(o.id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(isObject(o.attributes), o.id).toBe(true);
      expect(typeof o.attributes.title, o.id).toBe('string');
      expect(o.migrationVersion, o.id).toEqual({ [o.type]: MIGRATION_VERSION[o.type] });
      expect(Array.isArray(o.references), o.id).toBe(true);
    }
    expect(byKey.size).toBe(objects.length);
  });

  it('holds JSON-string attributes that parse', () => {
    for (const o of objects) {
      for (const key of ['visState', 'uiStateJSON', 'panelsJSON', 'optionsJSON', 'fields']) {
        if (key in o.attributes) expect(() => parseString(o.attributes[key], `${o.id} ${key}`)).not.toThrow();
      }
      if (o.type !== 'index-pattern') expect(isObject(searchSource(o)), o.id).toBe(true);
    }
    expect(
      ofType('visualization').every((o) => 'visState' in o.attributes && 'uiStateJSON' in o.attributes),
    ).toBe(true);
  });

  it('resolves every reference to an object in the file, and every indexRefName to a reference', () => {
    for (const o of objects) {
      const names = o.references.map((r) => r.name);
      expect(new Set(names).size, `${o.id} reference names`).toBe(names.length);
      for (const r of o.references)
        expect(byKey.has(`${r.type}:${r.id}`), `${o.id} → ${r.type}:${r.id}`).toBe(true);
      if (o.type === 'visualization' || o.type === 'search') {
        const source = searchSource(o);
        expect(source.index, `${o.id} uses the pre-7.0 "index" key`).toBeUndefined();
        expect(source.indexRefName, o.id).toBe(INDEX_REF);
        expect(o.references.find((r) => r.name === INDEX_REF)?.type, o.id).toBe('index-pattern');
      }
    }
  });

  it('has an index pattern over the template pattern, timed by occurred_at', () => {
    const [pattern, ...others] = ofType('index-pattern');
    expect(others).toEqual([]);
    expect(pattern?.attributes.title).toBe(indexTemplate().index_patterns[0]);
    expect(pattern?.attributes.title).toBe('audit-*');
    expect(pattern?.attributes.timeFieldName).toBe('occurred_at');
    expect(mapping('occurred_at')?.type).toBe('date');
  });

  it('aggregates only on fields the index template maps with an aggregatable type', () => {
    let fieldsChecked = 0;
    for (const o of ofType('visualization')) {
      const state = visState(o);
      expect(state.title, o.id).toBe(o.attributes.title);
      expect(VIS_TYPES, o.id).toContain(state.type);
      const ids = state.aggs.map((a) => a.id);
      expect(new Set(ids).size, `${o.id} agg ids`).toBe(ids.length);
      const metricIds = new Set(state.aggs.filter((a) => METRIC_AGGS.has(a.type)).map((a) => a.id));
      expect(metricIds.size, `${o.id} has a metric`).toBeGreaterThan(0);
      for (const agg of state.aggs) {
        const field = agg.params.field;
        if (agg.type === 'count') continue;
        expect(typeof field, `${o.id} agg ${agg.id} field`).toBe('string');
        const m = mapping(field as string);
        expect(m, `${o.id}: ${String(field)} is not in the index template`).toBeDefined();
        expect(AGGREGATABLE, `${o.id}: ${String(field)} (${m?.type}) cannot be aggregated`).toContain(
          m?.type,
        );
        if (NUMERIC_AGGS.has(agg.type))
          expect(NUMERIC, `${o.id}: ${agg.type} on ${String(field)}`).toContain(m?.type);
        if (agg.type === 'date_histogram') expect(m?.type, o.id).toBe('date');
        if (agg.type === 'terms') {
          const orderBy = String(agg.params.orderBy);
          expect(orderBy === '_key' || metricIds.has(orderBy), `${o.id} terms orderBy ${orderBy}`).toBe(true);
        }
        fieldsChecked++;
      }
      if (XY_TYPES.has(state.type)) {
        const seriesParams = state.params.seriesParams as Array<{ data: { id: string } }>;
        expect(seriesParams.length, o.id).toBeGreaterThan(0);
        for (const s of seriesParams) expect(metricIds, `${o.id} series`).toContain(s.data.id);
      }
    }
    expect(fieldsChecked).toBeGreaterThanOrEqual(10);
  });

  it('queries, shows and sorts only mapped, indexed fields', () => {
    for (const o of [...ofType('visualization'), ...ofType('search')]) {
      const query = (searchSource(o).query as { query: string; language: string }) ?? { query: '' };
      for (const [, field] of query.query.matchAll(/([A-Za-z_][\w.]*)\s*:/g)) {
        const m = mapping(field as string);
        expect(m, `${o.id}: query field ${field}`).toBeDefined();
        expect(m?.enabled, `${o.id}: ${field} is not indexed`).not.toBe(false);
      }
    }
    const searches = ofType('search');
    expect(searches.length).toBeGreaterThan(0);
    for (const s of searches) {
      for (const column of s.attributes.columns as string[])
        expect(mapping(column), `${s.id} ${column}`).toBeDefined();
      for (const [field] of s.attributes.sort as string[][]) {
        expect(AGGREGATABLE, `${s.id} sorts on ${field}`).toContain(mapping(field as string)?.type);
      }
    }
  });

  it('has the "Audit System Health" dashboard, its panels on existing objects, laid out without overlap', () => {
    const dashboards = ofType('dashboard').filter((d) => d.attributes.title === 'Audit System Health');
    expect(dashboards).toHaveLength(1);
    const dashboard = dashboards[0] as SavedObject;
    expect(dashboard.attributes.timeRestore).toBe(true);
    const panels = parseString(dashboard.attributes.panelsJSON, 'panelsJSON') as Array<{
      panelIndex: string;
      panelRefName: string;
      gridData: { x: number; y: number; w: number; h: number; i: string };
    }>;
    expect(panels.length).toBeGreaterThanOrEqual(7);
    const shown = new Set<string>();
    for (const p of panels) {
      const ref = dashboard.references.find((r) => r.name === p.panelRefName);
      expect(ref, `panel ${p.panelIndex} → ${p.panelRefName}`).toBeDefined();
      expect(['visualization', 'search']).toContain(ref?.type);
      expect(byKey.has(`${ref?.type}:${ref?.id}`), `panel ${p.panelIndex}`).toBe(true);
      shown.add(`${ref?.type}:${ref?.id}`);
      expect(p.gridData.i).toBe(p.panelIndex);
    }
    expect(new Set(panels.map((p) => p.panelIndex)).size).toBe(panels.length);
    expect(
      overlaps(
        panels.map((p) => p.gridData),
        48,
      ),
    ).toEqual([]);
    // Nothing in the file is left off the dashboard.
    for (const o of [...ofType('visualization'), ...ofType('search')])
      expect(shown, o.id).toContain(`${o.type}:${o.id}`);
  });
});

/** Pairs of rectangles (grid cells) that overlap or stick out of a grid `columns` wide. */
function overlaps(boxes: Array<{ x: number; y: number; w: number; h: number }>, columns: number): string[] {
  const found: string[] = [];
  const taken = new Map<string, number>();
  boxes.forEach((b, n) => {
    for (const v of [b.x, b.y, b.w, b.h])
      if (!Number.isInteger(v)) found.push(`#${n} has a non-integer position`);
    if (b.x < 0 || b.y < 0 || b.w < 1 || b.h < 1 || b.x + b.w > columns)
      found.push(`#${n} is outside the grid`);
    for (let x = b.x; x < b.x + b.w; x++) {
      for (let y = b.y; y < b.y + b.h; y++) {
        const other = taken.get(`${x},${y}`);
        if (other !== undefined) found.push(`#${n} overlaps #${other} at ${x},${y}`);
        taken.set(`${x},${y}`, n);
      }
    }
  });
  return [...new Set(found)];
}

// ---------------------------------------------------------------------------------------------
// Grafana
// ---------------------------------------------------------------------------------------------

interface Target {
  expr: string;
  refId: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}

const grafana = JSON.parse(readFileSync(`${ops}grafana/audit-dashboard.json`, 'utf8')) as {
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  schemaVersion: number;
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: string; datasource: { uid: string } }> };
};
const allPanels = grafana.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const targets = allPanels.flatMap((p) => p.targets ?? []);
// Grafana's placeholder for the data source chosen at import (not a template literal).
const DS = ['$', '{DS_PROMETHEUS}'].join('');

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
/** The metric names a PromQL expression reads: identifiers that are not functions, labels or keywords. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\b\d+(ms|[smhdwy])\b/g, '0')
    .replace(/\b\d+(\.\d+)?([eE][+-]?\d+)?\b/g, '0');
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice((match.index ?? 0) + match[0].length);
    if (/^\s*\(/.test(after) || PROMQL_WORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}
/** Grafana's template variables replaced by values Prometheus can parse. */
const substitute = (expr: string) =>
  expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?\w+\}?/g, '.*');

let exported = new Map<string, string>();
beforeAll(async () => {
  const registry = new Registry();
  const audit = await createAudit({
    registry,
    enabled: false,
    spoolDir: join(tmp, 'spool'),
    logger: { info() {}, warn() {}, error() {} },
  });
  exported = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
  await audit.close();
});
/** Series names Prometheus stores for the registered metrics (histograms as _bucket, _sum, _count). */
const seriesNames = () =>
  new Set(
    [...exported].flatMap(([name, type]) =>
      type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
    ),
  );

describe('ops/grafana/audit-dashboard.json', () => {
  it('imports into any Grafana: a Prometheus datasource input used by every panel and query', () => {
    expect(grafana.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(grafana.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(grafana.__inputs).toContainEqual(
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }),
    );
    const queryPanels = allPanels.filter((p) => p.type !== 'row');
    expect(queryPanels.length).toBeGreaterThanOrEqual(12);
    for (const p of queryPanels) {
      expect(p.datasource?.uid, p.title).toBe(DS);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
      for (const t of p.targets ?? []) {
        expect(t.datasource.uid, p.title).toBe(DS);
        expect(t.expr.trim(), p.title).not.toBe('');
      }
    }
    for (const v of grafana.templating.list) expect(v.datasource.uid, v.name).toBe(DS);
  });

  it('has unique panel ids and a layout without overlap', () => {
    const ids = allPanels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(
      overlaps(
        allPanels.map((p) => p.gridPos),
        24,
      ),
    ).toEqual([]);
  });

  it('finds metric names in PromQL the way Prometheus reads it', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="y",z=~"$v"}[5m]))) / clamp_min(b, 1e-9)',
      ),
    ).toEqual(['a_bucket', 'b']);
    expect(metricNames('sum(increase(c_total[1h])) > 0 and max(d) == 1')).toEqual(['c_total', 'd']);
  });

  it('queries only metrics the library registers', () => {
    expect(exported.size).toBeGreaterThanOrEqual(15);
    const known = seriesNames();
    const used = new Set(targets.flatMap((t) => metricNames(t.expr)));
    for (const v of grafana.templating.list) {
      for (const [, selector] of v.query.matchAll(/label_values\(([^,]+),/g)) {
        for (const name of metricNames(selector as string)) used.add(name);
      }
    }
    expect(used.size).toBeGreaterThanOrEqual(12);
    for (const name of used)
      expect(known, `${name} is not registered by src/metrics/registry.ts`).toContain(name);
  });

  it("shows the deployment guide's monitoring queries and the pipeline metrics", () => {
    const exprs = targets.map((t) => t.expr.replace(/\{[^}]*\}/g, ''));
    const has = (re: RegExp) => exprs.some((e) => re.test(e));
    expect(has(/rate\(audit_events_total\[5m\]\)/)).toBe(true);
    expect(has(/histogram_quantile\(0\.95,.*audit_events_latency_seconds_bucket\[5m\]/)).toBe(true);
    expect(has(/rate\(audit_errors_total\[5m\]\).*\/.*rate\(audit_events_total\[5m\]\)/)).toBe(true);
    expect(has(/audit_queue_size/)).toBe(true);
    expect(has(/circuit_breaker_state/)).toBe(true);
    expect(has(/histogram_quantile\(0\.95,.*audit_opensearch_write_latency_seconds_bucket/)).toBe(true);
    expect(has(/by \(reason\).*audit_events_dropped_total/)).toBe(true);
    const used = new Set(targets.flatMap((t) => metricNames(t.expr)));
    for (const name of [
      'audit_events_indexed_total',
      'audit_events_spooled_total',
      'audit_events_dead_lettered_total',
      'audit_spool_bytes',
      'audit_worker_restarts_total',
    ]) {
      expect(used, name).toContain(name);
    }
  });

  const promtool = spawnSync('promtool', ['--version']).status === 0;
  if (!promtool) {
    console.warn(
      'dashboards.test.ts: promtool is not on PATH, PromQL parsing is not checked (CI installs it)',
    );
  }
  it.skipIf(!promtool)('has PromQL that promtool parses (skipped without promtool on PATH)', async () => {
    const rules = {
      groups: [
        {
          name: 'grafana-dashboard',
          rules: targets.map((t, i) => ({ record: `pdaas_dashboard:expr_${i}`, expr: substitute(t.expr) })),
        },
      ],
    };
    const file = join(tmp, 'dashboard-exprs.yml');
    writeFileSync(file, JSON.stringify(rules, null, 2));
    const check = await run('promtool', ['check', 'rules', file]);
    expect(check.stdout).toContain(`SUCCESS: ${targets.length} rules found`);
  });
});
