// Runs the built CLI (dist/cli/main.js) as a child process, the way operators run the bin.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { testUrl } from './opensearch.js';

const run = promisify(execFile);

/** Path of the built CLI entry point. */
export const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/** Runs `pdaas-audit <args>` with `env` over this process's environment; never throws on exit codes. */
export async function pdaas(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** AUDIT_* variables pointing the CLI at the test node, one shard and no replicas, plus `extra`. */
export function nodeEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  const node = new URL(testUrl());
  return {
    AUDIT_OPENSEARCH_HOST: node.hostname,
    AUDIT_OPENSEARCH_PORT: node.port,
    AUDIT_INDEX_PREFIX: prefix,
    AUDIT_INDEX_SHARDS: '1',
    AUDIT_INDEX_REPLICAS: '0',
    ...extra,
  };
}
