// The confirmation before anything is deleted. Without --yes it needs a person at a terminal: a
// script that forgot --yes must fail (exit 2), not hang on a prompt nobody sees.
import { createInterface } from 'node:readline/promises';
import { usageError } from './args.js';
import type { Io } from './output.js';

export async function confirm(
  io: Io,
  opts: { action: string; question: string; yes: boolean | undefined },
): Promise<boolean> {
  if (opts.yes) return true;
  if (!io.stdin.isTTY)
    throw usageError(`${opts.action}: refusing without --yes when stdin is not a terminal`);
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${opts.question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
