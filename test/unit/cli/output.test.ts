// What the CLI writes: masked secrets, sizes, counts and columns.
import { describe, expect, it } from 'vitest';
import { formatBytes, type Io, Output, plural, table } from '../../../src/cli/output.js';
import { sink } from '../../support/sink.js';

describe('CLI output', () => {
  it('masks secrets, also in their JSON-escaped form', () => {
    const out = sink(false);
    const io = { stdout: out.stream, stderr: out.stream, stdin: {}, env: {} } as unknown as Io;
    const o = new Output(io, ['pa"ss\\word', undefined, 'abc']);
    o.out('login with pa"ss\\word failed, abc stays');
    o.json({ password: 'pa"ss\\word' });
    expect(out.chunks.join('')).not.toContain('ss\\');
    expect(out.chunks[0]).toBe('login with *** failed, abc stays\n');
    expect(JSON.parse(out.chunks[1] as string)).toEqual({ password: '***' });
  });

  it('shows control characters and bidi overrides from stored data as escapes, never raw', () => {
    const out = sink(false);
    const io = { stdout: out.stream, stderr: out.stream, stdin: {}, env: {} } as unknown as Io;
    const o = new Output(io);
    // A path a client chose: it clears the screen, colours the line and reverses the text after it.
    o.out('GET /p\u001b[2J\u001b[31mred\u0007\u202etxt.exe\tok');
    o.err('x\u009by');
    expect(out.chunks).toEqual(['GET /p\\x1b[2J\\x1b[31mred\\x07\\u202etxt.exe\tok\n', 'x\\x9by\n']);
  });

  it('formats sizes, counts and columns', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3.4 * 1024 * 1024)).toBe('3.40 MB');
    expect(formatBytes(null)).toBe('-');
    expect(plural(1, 'index', 'indices')).toBe('1 index');
    expect(plural(12345, 'event')).toBe('12,345 events');
    expect(
      table(
        [
          ['a', '1'],
          ['bbb', '100'],
        ],
        new Set([1]),
      ),
    ).toEqual(['a      1', 'bbb  100']);
  });
});
