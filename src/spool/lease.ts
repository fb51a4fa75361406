// Who owns which spool segments when processes share one spool folder (two Audits in one process,
// cluster workers, two pods on one volume during a rolling update). Each shard of each process
// holds a lease: a file <root>/owners/<instance>-<shard> with its pid and host, whose mtime it
// renews every few seconds and which it deletes at close. Replay takes another owner's segments
// only when that owner is gone: no lease file, a lease not renewed for LEASE_MS (a process killed
// on another host), or a pid on this host that no longer runs (a process killed here).
import { mkdir, readdir, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { readWhole, writeWhole } from './files.js';

const RENEW_MS = 5_000;
/** A lease not renewed for this long is taken to be dead: six missed renewals. */
export const LEASE_MS = 30_000;
/** How long a finding about another owner is reused within one process. */
const CACHE_MS = 1_000;

const ownersDir = (root: string) => join(root, 'owners');

/** The owner of a segment: the instance in its name and the shard folder it lies in. */
export function segmentOwner(file: string): string | undefined {
  const m = /^\d+-([0-9a-z]+)-\d+\.seg$/.exec(basename(file));
  const shard = /^shard-(\d+)$/.exec(basename(dirname(file)));
  return m && shard ? `${m[1]}-${shard[1]}` : undefined;
}

export class OwnerLease {
  readonly file: string;
  #timer: NodeJS.Timeout | undefined;

  constructor(root: string, owner: string) {
    this.file = join(ownersDir(root), owner);
  }

  /**
   * Writes the lease and keeps renewing it. Never throws: on a full or read-only volume the lease
   * is written again at the next renewal, and until then this process's segments look like a dead
   * owner's (which is what they are to others, as long as nothing can be written there anyway).
   */
  async acquire(): Promise<void> {
    await this.#write();
    this.#timer = setInterval(() => {
      const now = new Date();
      utimes(this.file, now, now).catch(() => this.#write());
    }, RENEW_MS);
    this.#timer.unref();
  }

  async #write(): Promise<void> {
    try {
      await mkdir(dirname(this.file), { recursive: true });
      await writeWhole(this.file, JSON.stringify({ pid: process.pid, host: hostname() }));
    } catch {
      // retried at the next renewal
    }
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await unlink(this.file).catch(() => undefined);
  }
}

/** Tells live owners from dead ones, remembering each answer for a second. */
export class OwnerCheck {
  readonly #root: string;
  readonly #known = new Map<string, { alive: boolean; at: number }>();

  constructor(root: string) {
    this.#root = root;
  }

  /** Removes the leases of owners found dead (no lease means gone, so nothing changes meaning). */
  async sweep(): Promise<void> {
    const names = await readdir(ownersDir(this.#root)).catch(() => [] as string[]);
    for (const owner of names) if (!(await this.alive(owner))) await this.forget(owner);
  }

  /** Removes the lease of an owner found dead, once its segments are being taken over. */
  async forget(owner: string): Promise<void> {
    await unlink(join(ownersDir(this.#root), owner)).catch(() => undefined);
  }

  async alive(owner: string): Promise<boolean> {
    const now = Date.now();
    const known = this.#known.get(owner);
    if (known && now - known.at < CACHE_MS) return known.alive;
    const alive = await leaseAlive(join(ownersDir(this.#root), owner), now);
    this.#known.set(owner, { alive, at: now });
    return alive;
  }
}

async function leaseAlive(file: string, now: number): Promise<boolean> {
  let text: string;
  let mtime: number;
  try {
    mtime = (await stat(file)).mtimeMs;
    text = (await readWhole(file)).toString('utf8');
  } catch {
    return false;
  }
  if (now - mtime > LEASE_MS) return false;
  let lease: { pid?: unknown; host?: unknown };
  try {
    lease = JSON.parse(text) as typeof lease;
  } catch {
    return true; // being written: a live owner
  }
  if (lease.host !== hostname() || typeof lease.pid !== 'number') return true;
  try {
    process.kill(lease.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
