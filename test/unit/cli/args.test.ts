// The CLI's flag and value parsers: every wrong value is AUDIT_ERR_INVALID_OPTION (exit 2).
import { describe, expect, it } from 'vitest';
import {
  day,
  days,
  duration,
  integer,
  parse,
  statusFilter,
  subcommand,
  time,
} from '../../../src/cli/args.js';
import { isAuditError } from '../../../src/errors.js';

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isAuditError(err, 'AUDIT_ERR_INVALID_OPTION')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('CLI arguments', () => {
  it('parses flags strictly: unknown flags and extra positionals are usage errors', () => {
    const { values, positionals } = parse(
      ['show', '--limit', '3', '--json'],
      { limit: { type: 'string' } },
      1,
    );
    expect(values).toEqual({ limit: '3', json: true });
    expect(positionals).toEqual(['show']);
    expect(usage(() => parse(['--nope'], {}))).toMatch(/--nope/);
    expect(usage(() => parse(['a', 'b'], {}, 1))).toBe("unexpected argument 'b'");
    expect(usage(() => subcommand(['x'], ['show', 'replay']))).toMatch(/unknown subcommand 'x'/);
    expect(subcommand([], ['list', 'delete'], 'list')).toBe('list');
  });

  it('reads times as ISO or as a time ago', () => {
    const now = Date.UTC(2026, 10, 27, 12, 0, 0);
    expect(time('from', '15m', now)).toBe('2026-11-27T11:45:00.000Z');
    expect(time('from', '24h', now)).toBe('2026-11-26T12:00:00.000Z');
    expect(time('from', '7d', now)).toBe('2026-11-20T12:00:00.000Z');
    expect(time('from', '2026-11-01', now)).toBe('2026-11-01T00:00:00.000Z');
    expect(time('to', 'now', now)).toBe('2026-11-27T12:00:00.000Z');
    expect(usage(() => time('from', 'yesterday', now))).toMatch(/--from must be an ISO time/);
  });

  it('reads days, durations, integers and status filters', () => {
    expect(day('before', '2026-09-01')).toBe(Date.UTC(2026, 8, 1));
    expect(usage(() => day('before', '2026-02-30'))).toMatch(/YYYY-MM-DD/);
    expect(days('warm-after', '30d')).toBe(30);
    expect(days('warm-after', '45')).toBe(45);
    expect(usage(() => days('warm-after', '2w'))).toMatch(/days like 30d/);
    expect(duration('interval', '500ms')).toBe(500);
    expect(duration('interval', '2s')).toBe(2000);
    expect(duration('interval', '3')).toBe(3000);
    expect(usage(() => duration('interval', '50ms', 100))).toMatch(/at least 100 ms/);
    expect(integer('size', '20', 1, 1000)).toBe(20);
    expect(usage(() => integer('size', '0', 1, 1000))).toMatch(/--size must be an integer from 1 to 1000/);
    expect(statusFilter('404')).toBe(404);
    expect(statusFilter('5xx')).toEqual([500, 599]);
    expect(statusFilter('400-499')).toEqual([400, 499]);
    expect(usage(() => statusFilter('abc'))).toMatch(/--status/);
  });
});
