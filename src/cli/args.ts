// Argument parsing on node:util parseArgs, and the value parsers the commands share. A wrong flag
// or value is AUDIT_ERR_INVALID_OPTION, which the dispatcher turns into exit code 2.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { AuditError } from '../errors.js';

/** The exit codes scripts can rely on. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

export const EXIT_HELP = `exit codes: 0 ok, 1 check or operation failed, 2 usage error (unknown command or option, wrong
value, no --yes without a terminal)`;

export function usageError(message: string): AuditError {
  return new AuditError('AUDIT_ERR_INVALID_OPTION', message);
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** What parse() gives back: each flag as a string or a boolean, undefined when absent. */
export type Values<O extends Options> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : string;
};

/** Flags every command takes (`--url`: the OpenSearch address; `dashboards` has its own `--url`). */
export const common = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  url: { type: 'string' },
} as const satisfies Options;

// The --url of the command being run. A run is one command, and every command parses its flags
// before it loads the configuration, so loadConfig() reads it here instead of each command
// passing it along.
let urlFlag: string | undefined;

/** The OpenSearch `--url` the current command was given, if any. */
export function openSearchUrlFlag(): string | undefined {
  return urlFlag;
}

/** Parses `argv` strictly: unknown flags and more than `maxPositionals` positionals are usage errors. */
export function parse<O extends Options>(
  argv: string[],
  options: O,
  maxPositionals = 0,
): { values: Values<O & typeof common>; positionals: string[] } {
  let parsed: { values: Values<O & typeof common>; positionals: string[] };
  urlFlag = undefined;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...common, ...options },
      allowPositionals: true,
      strict: true,
    }) as never;
  } catch (err) {
    throw usageError((err as Error).message);
  }
  if (parsed.positionals.length > maxPositionals)
    throw usageError(`unexpected argument '${parsed.positionals[maxPositionals]}'`);
  if (!Object.hasOwn(options, 'url')) urlFlag = parsed.values.url as string | undefined;
  return parsed;
}

export function integer(flag: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw usageError(`--${flag} must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

/** `30d` or `30`: a whole number of days. */
export function days(flag: string, raw: string): number {
  const m = /^(\d+)d?$/.exec(raw);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 36_500)
    throw usageError(`--${flag} must be a number of days like 30d, got '${raw}'`);
  return Number(m[1]);
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `500ms`, `2s`, `1m`, or a bare number of seconds, in ms. */
export function duration(flag: string, raw: string, minMs = 1): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw);
  const ms = m ? Number(m[1]) * (UNIT_MS[m[2] ?? 's'] as number) : Number.NaN;
  if (!(ms >= minMs))
    throw usageError(`--${flag} must be a duration like 2s or 500ms (at least ${minMs} ms), got '${raw}'`);
  return ms;
}

/** An ISO time or date, `now`, or a time ago: `15m`, `24h`, `7d`, `2w`. Returns ISO. */
export function time(flag: string, raw: string, now = Date.now()): string {
  const rel = /^(\d+)(s|m|h|d|w)$/.exec(raw);
  const ms =
    raw === 'now'
      ? now
      : rel
        ? now - Number(rel[1]) * (UNIT_MS[rel[2] as string] as number)
        : Date.parse(raw);
  if (Number.isNaN(ms))
    throw usageError(`--${flag} must be an ISO time, or a time ago like 15m, 24h or 7d, got '${raw}'`);
  return new Date(ms).toISOString();
}

/** A calendar day, `YYYY-MM-DD`, as UTC midnight in ms. */
export function day(flag: string, raw: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== raw)
    throw usageError(`--${flag} must be a day as YYYY-MM-DD, got '${raw}'`);
  return ms;
}

/** `404`, a range `500-599`, or a class `5xx`. */
export function statusFilter(raw: string): number | [number, number] {
  const code = (s: string) => {
    const n = Number(s);
    if (!/^\d{3}$/.test(s) || n < 100 || n > 599)
      throw usageError(`--status must be a code like 404, a range like 500-599, or 5xx, got '${raw}'`);
    return n;
  };
  const cls = /^([1-5])xx$/i.exec(raw);
  if (cls) return [Number(cls[1]) * 100, Number(cls[1]) * 100 + 99];
  const range = /^(\d+)-(\d+)$/.exec(raw);
  if (range) return [code(range[1] as string), code(range[2] as string)];
  return code(raw);
}

/** The first positional as a subcommand among `allowed`. */
export function subcommand(positionals: string[], allowed: readonly string[], fallback?: string): string {
  const sub = positionals[0] ?? fallback;
  if (sub === undefined) throw usageError(`a subcommand is needed: ${allowed.join(', ')}`);
  if (!allowed.includes(sub))
    throw usageError(`unknown subcommand '${sub}' (expected ${allowed.join(', ')})`);
  return sub;
}
