// Snapshots of the audit indices into a repository the deployment guide configures (`path.repo` on
// every node, a shared filesystem): register the repository, take a snapshot of `<prefix>-*` and
// follow its progress, list what is there, and restore what an incident deleted. A restore never
// touches an index that exists: an audit trail is not overwritten by an older copy of itself.
import type { Client } from '@opensearch-project/opensearch';
import { AuditError } from '../errors.js';
import { describe, expectOk, ok, send } from './request.js';

/** The repository the CLI uses when none is named: `<prefix>-snapshots`. */
export function defaultRepository(prefix: string): string {
  return `${prefix}-snapshots`;
}

/** A snapshot name from the time: `<prefix>-2026.12.02-141503` (snapshot names are lowercase). */
export function snapshotName(prefix: string, at = new Date()): string {
  const iso = at.toISOString();
  return `${prefix}-${iso.slice(0, 10).replaceAll('-', '.')}-${iso.slice(11, 19).replaceAll(':', '')}`;
}

/**
 * Makes sure `repository` exists: registered as an `fs` repository at `location` when given (a
 * path under the nodes' `path.repo`), and checked otherwise. Returns what was done.
 */
export async function ensureRepository(
  client: Client,
  repository: string,
  location: string | undefined,
): Promise<'exists' | 'registered'> {
  const path = `/_snapshot/${encodeURIComponent(repository)}`;
  const existing = await send(client, 'GET', path);
  if (ok(existing)) {
    const settings = (existing.body as Record<string, { settings?: { location?: string } }>)[repository]
      ?.settings;
    if (location !== undefined && settings?.location !== undefined && settings.location !== location)
      throw new AuditError(
        'AUDIT_ERR_INVALID_OPTION',
        `repository ${repository} exists at ${settings.location}, not ${location}; name another --repository or leave --location out`,
      );
    return 'exists';
  }
  if (existing.statusCode !== 404) expectOk(existing, `GET ${path}`);
  if (location === undefined)
    throw new AuditError(
      'AUDIT_ERR_INVALID_OPTION',
      `repository ${repository} is not registered: pass --location PATH (a folder under the nodes' path.repo) to register it as a filesystem repository`,
    );
  const put = await send(client, 'PUT', path, { type: 'fs', settings: { location, compress: true } });
  if (!ok(put)) {
    const hint = /path\.repo|doesn't match any of the locations/.test(JSON.stringify(put.body))
      ? ": the location must lie under path.repo in every node's opensearch.yml (the deployment guide's snapshot section)"
      : '';
    throw new AuditError(
      'AUDIT_ERR_OPENSEARCH',
      `registering repository ${repository} answered ${describe(put)}${hint}`,
    );
  }
  return 'registered';
}

export interface SnapshotProgress {
  state: string;
  shardsDone: number;
  shardsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** Starts a snapshot of `indices` (no global state: only the audit's data). */
export async function startSnapshot(
  client: Client,
  repository: string,
  name: string,
  indices: string,
): Promise<void> {
  const path = `/_snapshot/${encodeURIComponent(repository)}/${encodeURIComponent(name)}`;
  expectOk(
    await send(client, 'PUT', path, { indices, include_global_state: false, ignore_unavailable: true }),
    `PUT ${path}`,
  );
}

/** Where a snapshot stands (from `_status`, which counts shards and bytes while it runs). */
export async function snapshotProgress(
  client: Client,
  repository: string,
  name: string,
): Promise<SnapshotProgress> {
  const path = `/_snapshot/${encodeURIComponent(repository)}/${encodeURIComponent(name)}/_status`;
  const answer = expectOk(await send(client, 'GET', path), `GET ${path}`);
  const s = (
    answer.body as {
      snapshots: Array<{
        state: string;
        shards_stats: { done: number; total: number };
        stats: { processed?: { size_in_bytes: number }; total?: { size_in_bytes: number } };
      }>;
    }
  ).snapshots[0];
  if (!s) throw new AuditError('AUDIT_ERR_OPENSEARCH', `snapshot ${repository}/${name} not found`);
  return {
    state: s.state,
    shardsDone: s.shards_stats.done,
    shardsTotal: s.shards_stats.total,
    bytesDone: s.stats.processed?.size_in_bytes ?? 0,
    bytesTotal: s.stats.total?.size_in_bytes ?? 0,
  };
}

export interface SnapshotInfo {
  name: string;
  state: string;
  indices: string[];
  startedAt: string | null;
  durationMs: number | null;
  shardsTotal: number;
  shardsFailed: number;
}

/** The snapshots in `repository`, oldest first. */
export async function listSnapshots(client: Client, repository: string): Promise<SnapshotInfo[]> {
  const path = `/_snapshot/${encodeURIComponent(repository)}/_all`;
  const answer = expectOk(await send(client, 'GET', path), `GET ${path}`);
  const list = (
    answer.body as {
      snapshots: Array<{
        snapshot: string;
        state: string;
        indices: string[];
        start_time?: string;
        duration_in_millis?: number;
        shards?: { total: number; failed: number };
      }>;
    }
  ).snapshots;
  return list.map((s) => ({
    name: s.snapshot,
    state: s.state,
    indices: [...s.indices].sort(),
    startedAt: s.start_time ?? null,
    durationMs: s.duration_in_millis ?? null,
    shardsTotal: s.shards?.total ?? 0,
    shardsFailed: s.shards?.failed ?? 0,
  }));
}

/** The names of the indices matching `pattern` that exist now (open or closed). */
async function existingIndices(client: Client, pattern: string): Promise<Set<string>> {
  const answer = await send(client, 'GET', `/_cat/indices/${encodeURIComponent(pattern)}`, undefined, {
    format: 'json',
    h: 'index',
    expand_wildcards: 'all',
  });
  if (answer.statusCode === 404) return new Set();
  expectOk(answer, 'GET _cat/indices');
  return new Set((answer.body as Array<{ index: string }>).map((i) => i.index));
}

export interface RestorePlan {
  restore: string[];
  /** In the snapshot and present in the cluster: left alone. */
  present: string[];
}

/** Which of the snapshot's indices matching `pattern` a restore would bring back. */
export async function planRestore(
  client: Client,
  repository: string,
  name: string,
  pattern: string,
): Promise<RestorePlan> {
  const snap = (await listSnapshots(client, repository)).find((s) => s.name === name);
  if (!snap)
    throw new AuditError('AUDIT_ERR_INVALID_OPTION', `no snapshot ${name} in repository ${repository}`);
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  const wanted = snap.indices.filter((i) => re.test(i));
  const present = await existingIndices(client, pattern);
  return { restore: wanted.filter((i) => !present.has(i)), present: wanted.filter((i) => present.has(i)) };
}

/** Starts restoring `indices` from the snapshot, as they were named. */
export async function startRestore(
  client: Client,
  repository: string,
  name: string,
  indices: string[],
): Promise<void> {
  const path = `/_snapshot/${encodeURIComponent(repository)}/${encodeURIComponent(name)}/_restore`;
  expectOk(
    await send(client, 'POST', path, {
      indices: indices.join(','),
      include_global_state: false,
      include_aliases: false,
    }),
    `POST ${path}`,
  );
}

/** Shards of `indices` recovered so far, of all their shards (primaries and replicas). */
export async function restoreProgress(
  client: Client,
  indices: string[],
): Promise<{ done: number; total: number }> {
  const answer = await send(
    client,
    'GET',
    `/_cat/shards/${indices.map(encodeURIComponent).join(',')}`,
    undefined,
    {
      format: 'json',
      h: 'index,prirep,state',
    },
  );
  expectOk(answer, 'GET _cat/shards');
  const shards = answer.body as Array<{ prirep: string; state: string }>;
  // Replicas that have nowhere to go (a one-node cluster) stay unassigned: the primaries count.
  const primaries = shards.filter((s) => s.prirep === 'p');
  return { done: primaries.filter((s) => s.state === 'STARTED').length, total: primaries.length };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
