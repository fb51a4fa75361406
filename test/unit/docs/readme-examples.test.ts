// The README's examples run as written (issue #13): each whole app is taken from README.md,
// started as a user would (`node app.mjs`, no AUDIT_* variables, so events go to ./.audit-spool),
// sent the README's curl request and one from a client that sent no principal (a failed login),
// stopped with SIGTERM, and read back with the CLI the README shows. Only the port is changed.
// Run `npm run build` first: the package resolves to dist/.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
// Inside the package, so that `@pdaas/audit` resolves to it (self-reference) and hono, express
// and @hono/node-server to its node_modules.
const apps = join(root, '.cache', 'readme-examples');
mkdirSync(apps, { recursive: true });
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The code blocks (```js) of the README section that starts with `heading`. */
function blocks(heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}`);
  expect(start, `README has no section '${heading}'`).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

/** The environment without any AUDIT_* variable: what a new user's shell has. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUDIT_')));
}

/** Runs `code` as app.mjs in a fresh working directory; resolves once it answers on `port`. */
async function start(
  name: string,
  code: string,
  port: number,
): Promise<{ child: ChildProcess; cwd: string }> {
  const file = join(apps, `${name}.mjs`);
  writeFileSync(file, code);
  const cwd = mkdtempSync(join(tmpdir(), 'pdaas-readme-'));
  dirs.push(cwd);
  const child = spawn(process.execPath, [file], {
    cwd,
    env: cleanEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  for (const until = Date.now() + 20_000; ; ) {
    if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${stderr}`);
    const up = await fetch(`http://127.0.0.1:${port}/metrics`).then(
      () => true,
      () => false,
    );
    if (up) return { child, cwd };
    if (Date.now() > until) throw new Error(`${name} did not listen on ${port}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  child.kill('SIGTERM');
  return exited;
}

/** `npx pdaas-audit spool show` in `cwd`, as the README runs it. */
async function spoolShow(cwd: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(root, 'dist/cli/main.js'), 'spool', 'show'],
    { cwd, env: cleanEnv() },
  );
  return stdout;
}

describe('README examples, run as written', () => {
  it('Hono: the curl request and a request without a principal are both in the spool', async () => {
    const [app] = blocks('Usage with Hono');
    expect(app).toContain('serve({ fetch: app.fetch, port: 3000 })');
    const port = await freePort();
    const { child, cwd } = await start('hono', (app as string).replace('port: 3000', `port: ${port}`), port);
    const res = await fetch(`http://127.0.0.1:${port}/policies/p-1`, {
      headers: { 'x-actor-id': 'u-1', 'x-organization-id': 'org-42' },
    });
    expect(res.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/policies/p-2`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    expect(await stop(child)).toBe(0);
    const shown = await spoolShow(cwd);
    expect(shown).not.toContain('/health');
    // The line the README shows after `npx pdaas-audit spool show`.
    expect(shown).toMatch(/u-1 {2}policies\.read {2}policy:p-1 {2}GET \/policies\/p-1 {2}200 success/);
    expect(shown).toContain('policy:p-2');
    // The metrics route is not audited (the readiness probe above scraped it), though the
    // example excludes only /health.
    expect(shown).not.toContain('/metrics');
  });

  it("Hono with the README's resolve: a request without a user still yields an event", async () => {
    const [app, resolve] = blocks('Usage with Hono');
    expect(resolve).toContain('resolve:');
    const withResolve = (app as string).replace('app.use(honoAudit(audit));', resolve as string);
    expect(withResolve).not.toBe(app);
    const port = await freePort();
    const { child, cwd } = await start(
      'hono-resolve',
      withResolve.replace('port: 3000', `port: ${port}`),
      port,
    );
    expect((await fetch(`http://127.0.0.1:${port}/policies/p-9`, { method: 'GET' })).status).toBe(200);
    expect(await stop(child)).toBe(0);
    const shown = await spoolShow(cwd);
    expect(shown).toContain('policy:p-9');
    expect(shown).not.toContain('unreadable');
  });

  it('Express: the example serves, audits and drains on SIGTERM', async () => {
    const [app] = blocks('Usage with Express');
    expect(app).toContain('app.listen(3000)');
    const port = await freePort();
    const { child, cwd } = await start(
      'express',
      (app as string).replace('listen(3000)', `listen(${port})`),
      port,
    );
    const res = await fetch(`http://127.0.0.1:${port}/policies/p-1`, {
      headers: { 'x-actor-id': 'u-1', 'x-organization-id': 'org-42' },
    });
    expect(res.status).toBe(200);
    expect(await stop(child)).toBe(0);
    expect(await spoolShow(cwd)).toMatch(
      /u-1 {2}policies\.read {2}policy:p-1 {2}GET \/policies\/p-1 {2}200 success/,
    );
  });
});
