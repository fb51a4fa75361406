// What the CLI writes: masked secrets, sizes, and the progress display (a bar redrawn in place on a
// terminal, plain periodic lines otherwise, nothing for work that ends within a second).
import { describe, expect, it } from 'vitest';
import { formatBytes, type Io, Output, plural, table } from '../../src/cli/output.js';
import { Progress } from '../../src/cli/progress.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (s: string) => chunks.push(s) } };
}

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

  it('shows nothing for work that ends within a second', () => {
    let now = 0;
    const s = sink(true);
    const p = new Progress(s.stream, 'replaying', 100, { now: () => now });
    now = 500;
    p.add(100);
    p.finish();
    expect(s.chunks).toEqual([]);
  });

  it('redraws a bar in place on a terminal and clears it at the end', () => {
    let now = 0;
    const s = sink(true);
    const p = new Progress(s.stream, 'replaying', 100, { now: () => now });
    now = 1500;
    p.add(50);
    now = 1550;
    p.add(10); // within 100 ms of the last draw: not redrawn
    now = 1700;
    p.add(40);
    p.note('warn: something');
    p.finish();
    const text = s.chunks.join('');
    expect(s.chunks.filter((c) => c.includes('replaying ['))).toHaveLength(3);
    expect(text).toContain('[###############---------------] 50/100 (50%)');
    expect(text).toContain('100/100 (100%)');
    expect(text).toContain('\r\x1b[2Kwarn: something\n');
    expect(s.chunks.at(-1)).toBe('\r\x1b[2K');
  });

  it('writes plain lines every few seconds when not a terminal', () => {
    let now = 0;
    const s = sink(false);
    const p = new Progress(s.stream, 'redriving', 1000, { now: () => now, plainEveryMs: 5000 });
    for (let t = 1000; t <= 12_000; t += 500) {
      now = t;
      p.add(40);
    }
    p.finish();
    expect(s.chunks).toEqual([
      'redriving: 40/1000 (4%), 40/s\n',
      'redriving: 440/1000 (44%), 73/s\n',
      'redriving: 840/1000 (84%), 76/s\n',
    ]);
    expect(s.chunks.join('')).not.toContain('\x1b');
  });
});
