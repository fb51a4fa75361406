// The audit indices as an operator sizes them (`_cat/indices`: documents and store size; the
// average event size from `_stats`), and the dates in their names, which tell which ones may be
// deleted when the disk runs full.
import type { Client } from '@opensearch-project/opensearch';
import { explainPath, lifecycleLabel, parseExplain, policyId } from './lifecycle.js';
import { expectOk, noHandler, send } from './request.js';

export interface IndexInfo {
  index: string;
  health: string;
  status: string;
  /** Primary documents; null for a closed index. */
  docs: number | null;
  /** Bytes on disk, replicas included. */
  storeBytes: number | null;
  primaryStoreBytes: number | null;
  /** Primary bytes per document (store size / documents); null without documents. */
  avgEventBytes: number | null;
  /**
   * Its lifecycle state under `<prefix>-lifecycle` ('hot', 'warm', 'cold', 'delete',
   * 'initializing', 'unmanaged', another policy's state with its name, ', failed' when ISM's step
   * failed); null when the cluster has no ISM or the user may not ask it.
   */
  lifecycle: string | null;
}

function num(v: unknown): number | null {
  return v === null || v === undefined || v === '' ? null : Number(v);
}

/** Every `<prefix>-*` index, open or closed, sorted by name. */
export async function listIndices(client: Client, prefix: string): Promise<IndexInfo[]> {
  const answer = expectOk(
    await send(client, 'GET', `/_cat/indices/${encodeURIComponent(`${prefix}-*`)}`, undefined, {
      format: 'json',
      bytes: 'b',
      h: 'index,health,status,docs.count,store.size,pri.store.size',
      s: 'index',
      expand_wildcards: 'open,closed',
    }),
    `GET _cat/indices/${prefix}-*`,
  );
  const states = await lifecycles(client, prefix);
  return (answer.body as Record<string, string | null>[]).map((r) => {
    const docs = num(r['docs.count']);
    const primary = num(r['pri.store.size']);
    const index = String(r.index);
    return {
      index,
      health: String(r.health ?? ''),
      status: String(r.status ?? ''),
      docs,
      storeBytes: num(r['store.size']),
      primaryStoreBytes: primary,
      avgEventBytes: docs && primary !== null ? Math.round(primary / docs) : null,
      lifecycle: states ? lifecycleLabel(states.get(index), policyId(prefix)) : null,
    };
  });
}

/** Each index's lifecycle from ISM's explain; undefined without ISM or the right to ask. */
async function lifecycles(client: Client, prefix: string) {
  const answer = await send(client, 'GET', explainPath(prefix));
  if (noHandler(answer) || answer.statusCode !== 200) return undefined;
  return new Map(parseExplain(answer.body).map((l) => [l.index, l]));
}

const DAY = 86_400_000;

/**
 * The UTC time range an index name's date covers ([start, end) in ms), from the suffix the library
 * writes: `-2026-11-27` (daily), `-2026-w48` (ISO week), `-2026-11` (monthly). Undefined for a
 * name without one.
 */
export function indexPeriod(name: string): { start: number; end: number } | undefined {
  let m = /-(\d{4})-(\d{2})-(\d{2})$/.exec(name);
  if (m) {
    const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return { start, end: start + DAY };
  }
  m = /-(\d{4})-w(\d{2})$/.exec(name);
  if (m) {
    // ISO week 1 is the week holding January 4th; weeks start on Monday.
    const jan4 = Date.UTC(Number(m[1]), 0, 4);
    const week1 = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY;
    const start = week1 + (Number(m[2]) - 1) * 7 * DAY;
    return { start, end: start + 7 * DAY };
  }
  m = /-(\d{4})-(\d{2})$/.exec(name);
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2]) - 1;
    return { start: Date.UTC(y, mo, 1), end: Date.UTC(y, mo + 1, 1) };
  }
  return undefined;
}

/** Indices whose whole period lies before `before` (ms): every event in them is older. */
export function indicesBefore<T extends { index: string }>(indices: readonly T[], before: number): T[] {
  return indices.filter((i) => {
    const p = indexPeriod(i.index);
    return p !== undefined && p.end <= before;
  });
}

/** Deletes the named indices (concrete names, never a wildcard), a few dozen per request. */
export async function deleteIndices(client: Client, names: readonly string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 50) {
    const chunk = names.slice(i, i + 50);
    expectOk(
      await send(client, 'DELETE', `/${chunk.map(encodeURIComponent).join(',')}`),
      `DELETE ${chunk.join(',')}`,
    );
  }
}
