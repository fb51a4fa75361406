// A wrong AUDIT_* value stops the example apps with one clear line and exit code 2, not a stack
// trace (issue #13): what a newcomer sees first when a variable is mistyped.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;

describe('example apps with a wrong AUDIT_* value', () => {
  for (const app of ['examples/hono/app.ts', 'examples/express/app.ts']) {
    it(`${app} prints one line naming the variable and exits 2`, async () => {
      const run = promisify(execFile)(process.execPath, ['--import', 'tsx', app], {
        cwd: root,
        env: { ...process.env, AUDIT_EXCLUDED_PATHS: '/metrics,health', PORT: '0' },
      });
      const err = (await run.then(
        () => undefined,
        (e: unknown) => e,
      )) as { code: number; stderr: string } | undefined;
      expect(err?.code).toBe(2);
      expect(err?.stderr.trimEnd().split('\n')).toEqual([
        'AUDIT_EXCLUDED_PATHS must be a comma-separated list of paths, each starting with "/": "health" does not (as in "/health"); got "/metrics,health"',
      ]);
    }, 30_000);
  }
});
