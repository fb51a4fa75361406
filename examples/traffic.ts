// Serves the example apps and drives them over real sockets (127.0.0.1 only): a fixed mix of
// platform requests across many organizations, with a unique x-request-id per request so stored
// events can be checked one by one. Used by the demo, the tests and the load harness.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Audit } from '@pdaas/audit';
import { createApp as createExpressApp } from './express/app.js';
import { createApp as createHonoApp } from './hono/app.js';

export interface Server {
  url: string;
  close(): Promise<void>;
}

export async function startApp(kind: 'hono' | 'express', audit?: Audit): Promise<Server> {
  const server =
    kind === 'hono'
      ? serve({ fetch: createHonoApp(audit).fetch, hostname: '127.0.0.1', port: 0 })
      : createExpressApp(audit).listen(0, '127.0.0.1');
  if (!server.listening) await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

export interface PlannedRequest {
  n: number;
  org: string;
  method: string;
  path: string;
  body?: string;
  action: string;
  target: string;
  status: number;
}

const resources = ['policies', 'organizations', 'accounts', 'memberships', 'groups', 'service-accounts'];

/** The n-th request of the mix: list, read, create (JSON body), update, delete, login. */
export function plan(n: number, orgs: number): PlannedRequest {
  const org = `org-${String(n % orgs).padStart(3, '0')}`;
  const r = resources[Math.floor(n / orgs) % resources.length] as string;
  const one = r === 'policies' ? 'policy' : r.slice(0, -1);
  const id = `${one.slice(0, 3)}-${n}`;
  switch (n % 6) {
    case 0:
      return { n, org, method: 'GET', path: `/${r}`, action: `${r}.list`, target: r, status: 200 };
    case 1:
      return {
        n,
        org,
        method: 'GET',
        path: `/${r}/${id}`,
        action: `${r}.read`,
        target: `${one}:${id}`,
        status: 200,
      };
    case 2:
      return {
        n,
        org,
        method: 'POST',
        path: `/${r}`,
        body: JSON.stringify({ name: `item-${n}`, password: `pw-${n}` }),
        action: `${r}.create`,
        target: r,
        status: 201,
      };
    case 3:
      return {
        n,
        org,
        method: 'PATCH',
        path: `/${r}/${id}`,
        body: JSON.stringify({ name: `renamed-${n}` }),
        action: `${r}.update`,
        target: `${one}:${id}`,
        status: 200,
      };
    case 4:
      return {
        n,
        org,
        method: 'DELETE',
        path: `/${r}/${id}`,
        action: `${r}.delete`,
        target: `${one}:${id}`,
        status: 204,
      };
    default:
      return {
        n,
        org,
        method: 'POST',
        path: '/authentication/login',
        body: JSON.stringify({ username: `user-${n}`, password: 'secret' }),
        action: 'authentication.login',
        target: '',
        status: 200,
      };
  }
}

export interface DriveOptions {
  orgs?: number;
  concurrency?: number;
  /** Prefix of every x-request-id (`<prefix>-<n>`). */
  prefix?: string;
  /** Stop at this Date.now(). */
  until?: number;
  /** Stop once this signal aborts (when the end is an event, not a time). */
  signal?: AbortSignal;
  /** Requests per second over all loops; unpaced when omitted. */
  rate?: number;
  /** Count failed requests (connection refused while a server stops) instead of throwing. */
  tolerateErrors?: boolean;
  /** The first request number (to continue a mix across phases). */
  from?: number;
  /** The x-actor-id of request n (default `user-<n % 7>`). */
  actorIds?: (n: number) => string;
}

/** How many requests a drive() answered in all. */
export function totalSent(perOrg: Map<string, number>): number {
  let n = 0;
  for (const v of perOrg.values()) n += v;
  return n;
}

/**
 * Sends requests from..count-1 of the mix with `concurrency` in flight; returns the counts of
 * answered requests per organization (in `.failed`, with tolerateErrors, the number that failed).
 */
export async function drive(
  url: string,
  count: number,
  opts: DriveOptions = {},
): Promise<Map<string, number> & { failed?: number }> {
  const { orgs = 100, concurrency = 32, prefix = 'req', until = Number.POSITIVE_INFINITY } = opts;
  const perOrg: Map<string, number> & { failed?: number } = new Map<string, number>();
  perOrg.failed = 0;
  const gapMs = opts.rate ? (concurrency * 1000) / opts.rate : 0;
  let next = opts.from ?? 0;
  async function loop(): Promise<void> {
    while (next < count && Date.now() < until && !opts.signal?.aborted) {
      const p = plan(next++, orgs);
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      let res: Response;
      try {
        res = await fetch(`${url}${p.path}?n=${p.n}`, {
          method: p.method,
          headers: {
            'x-organization-id': p.org,
            'x-actor-id': opts.actorIds?.(p.n) ?? `user-${p.n % 7}`,
            'x-actor-type': 'user',
            'x-request-id': `${prefix}-${p.n}`,
            ...(p.body !== undefined && { 'content-type': 'application/json' }),
          },
          ...(p.body !== undefined && { body: p.body }),
        });
        await res.arrayBuffer();
      } catch (err) {
        if (!opts.tolerateErrors) throw err;
        perOrg.failed = (perOrg.failed ?? 0) + 1;
        continue;
      }
      if (res.status !== p.status)
        throw new Error(`${p.method} ${p.path} answered ${res.status}, expected ${p.status}`);
      perOrg.set(p.org, (perOrg.get(p.org) ?? 0) + 1);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop));
  return perOrg;
}
