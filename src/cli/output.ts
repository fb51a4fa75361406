// Where the CLI writes: results on stdout (text for people, `--json` for programs), everything
// else on stderr. Every line passes through a mask, so a password from the environment or a flag
// cannot be echoed by an error message that happens to contain it, and text lines are made
// printable: stored paths and targets come from clients, and an escape sequence in one must not
// drive the operator's terminal (`search`, `tail`, `spool show`).
import { format } from 'node:util';

/**
 * Control characters other than tab and newline, C1 controls, and the Unicode bidirectional
 * overrides that can make a line read other than it is.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every unprintable character shown as its escape (`\x1b`, `\u202e`). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export class Output {
  readonly #secrets = new Set<string>();

  constructor(
    readonly io: Io,
    secrets: Iterable<string | undefined> = [],
  ) {
    for (const s of secrets) this.addSecret(s);
  }

  /** Masks `secret` (and its JSON-escaped form) wherever it would be written. */
  addSecret(secret: string | undefined): void {
    // Very short values would mask ordinary text; no real password is that short.
    if (secret === undefined || secret.length < 4) return;
    this.#secrets.add(secret);
    this.#secrets.add(JSON.stringify(secret).slice(1, -1));
  }

  mask(text: string): string {
    let s = text;
    for (const secret of this.#secrets) s = s.replaceAll(secret, '***');
    return s;
  }

  out(...parts: unknown[]): void {
    this.io.stdout.write(`${this.mask(printable(format(...parts)))}\n`);
  }

  err(...parts: unknown[]): void {
    this.io.stderr.write(`${this.mask(printable(format(...parts)))}\n`);
  }

  /** A JSON document on stdout. */
  json(value: unknown): void {
    this.io.stdout.write(`${this.mask(JSON.stringify(value, null, 2))}\n`);
  }

  /** One JSON value per line (streams: search hits, tail). */
  jsonLine(value: unknown): void {
    this.io.stdout.write(`${this.mask(JSON.stringify(value))}\n`);
  }
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** 1024-based, like OpenSearch's `_cat` sizes: `512 B`, `3.4 MB`. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${UNITS[u]}`;
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : n.toLocaleString('en-US');
}

/** Rows padded into columns; `right` names the columns aligned right (numbers). */
export function table(
  rows: readonly (readonly string[])[],
  right: ReadonlySet<number> = new Set(),
): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  return rows.map((r) =>
    r
      .map((c, i) =>
        i === r.length - 1 && !right.has(i)
          ? c
          : right.has(i)
            ? c.padStart(widths[i] as number)
            : c.padEnd(widths[i] as number),
      )
      .join('  '),
  );
}

/** `1 segment`, `2 segments`, `3 indices`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
