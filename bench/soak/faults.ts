// The faults the soak injects, each with a way to undo it. Every one is real: the node process is
// stopped, writes are blocked by the cluster, the proxy answers 429 or delays, a worker thread is
// terminated mid-batch, the spool volume (a size-limited tmpfs) is filled, the dead-letter volume
// is remounted read-only, and a second process appends to the same spool folder.
import { spawn } from 'node:child_process';
import { openSync, readdirSync, readlinkSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Audit } from '@pdaas/audit';
import type { DevNode } from '../../scripts/opensearch/dev-node.js';
import type { FaultProxy } from '../../test/support/fault-proxy.js';
import { internals } from '../../test/support/internals.js';
import { remount } from '../../test/support/mounts.js';

export interface SoakParts {
  audit: Audit;
  node: DevNode;
  proxy: FaultProxy;
  prefix: string;
  spoolDir: string;
  deadLetterDir: string;
  /** Events the second processes wrote into the shared spool. */
  childEvents: number;
  /** What the second processes could not spool (a full spool volume), by their own count. */
  childDropped: number;
  /** Second processes started so far. */
  childRuns: number;
}

/**
 * A fault the harness could not inject this time (not a failure of the library): the reason and
 * what it saw are reported with the run.
 */
export class NotInjected extends Error {}

/** What this process has open under `dir` (from /proc/self/fd), to tell why a volume is busy. */
function openUnder(dir: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) open.push(`${fd} -> ${target}`);
    } catch {
      // closed meanwhile
    }
  }
  return open;
}

export interface Fault {
  name: string;
  /** Applies the fault; returns how to undo it (nothing for a one-off such as a crash). */
  inject(parts: SoakParts): Promise<(() => Promise<void>) | undefined>;
}

async function put(node: DevNode, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${node.url}${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`PUT ${path} answered ${res.status}: ${await res.text()}`);
}

export const faults: Fault[] = [
  {
    name: 'node stopped',
    async inject({ node }) {
      await node.stop();
      return async () => {
        await node.start();
      };
    },
  },
  {
    name: 'writes blocked',
    async inject({ node, prefix }) {
      await put(node, `/${prefix}-*/_settings`, { 'index.blocks.write': true });
      return () => put(node, `/${prefix}-*/_settings`, { 'index.blocks.write': false });
    },
  },
  {
    name: '429 storm',
    async inject({ proxy }) {
      proxy.mode = { ...proxy.mode, rejectShare: 0.3, itemShare: 0.3 };
      return async () => {
        proxy.mode = { ...proxy.mode, rejectShare: 0, itemShare: 0 };
      };
    },
  },
  {
    name: 'added latency',
    async inject({ proxy }) {
      proxy.mode = { ...proxy.mode, latencyMs: 1500 };
      return async () => {
        proxy.mode = { ...proxy.mode, latencyMs: 0 };
      };
    },
  },
  {
    name: 'worker terminated',
    async inject({ audit }) {
      const threads = internals(audit).workerThreads();
      await threads[Math.floor(Math.random() * threads.length)]?.terminate();
      return undefined;
    },
  },
  {
    name: 'spool volume full',
    async inject({ spoolDir }) {
      const ballast = join(spoolDir, 'ballast');
      const fd = openSync(ballast, 'w');
      const chunk = Buffer.alloc(1 << 20);
      try {
        for (;;) writeSync(fd, chunk);
      } catch {
        // ENOSPC: the volume is full
      }
      return async () => unlinkSync(ballast);
    },
  },
  {
    name: 'dead-letter volume read-only',
    async inject({ deadLetterDir }) {
      // EBUSY: a file is open for writing there. An append under way closes within milliseconds,
      // so try a few times; then report what is open, so a leaked descriptor shows.
      for (let attempt = 1; ; attempt++) {
        try {
          remount(deadLetterDir, 'ro');
          break;
        } catch (err) {
          if (!/busy/.test((err as Error).message)) throw err;
          if (attempt === 5)
            throw new NotInjected(
              `volume busy; open there: ${openUnder(deadLetterDir).join(', ') || 'nothing of this process'}`,
            );
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      return async () => remount(deadLetterDir, 'rw');
    },
  },
  {
    name: 'second process on the spool',
    async inject(parts) {
      const events = 200;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', new URL('./child.ts', import.meta.url).pathname],
        {
          env: {
            ...process.env,
            EVENTS: String(events),
            PREFIX: parts.prefix,
            // Each second process sends its own request ids: OpenSearch must hold each request once.
            RUN: String(++parts.childRuns),
            SPOOL_DIR: parts.spoolDir,
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      if (code !== 0 || !out.includes('CHILD '))
        throw new Error(`the second process failed (${code}): ${out}`);
      const final = JSON.parse(out.slice(out.indexOf('CHILD ') + 6)) as {
        spooled: number;
        dropped: { total: number };
      };
      // What it could not spool (its share of a full spool volume) it counted as dropped.
      parts.childEvents += final.spooled;
      parts.childDropped += final.dropped.total;
      return undefined;
    },
  },
];
