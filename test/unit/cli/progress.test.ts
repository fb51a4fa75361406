// The CLI's progress display: a bar redrawn in place on a terminal, plain periodic lines otherwise,
// nothing for work that ends within a second.
import { describe, expect, it } from 'vitest';
import { Progress } from '../../../src/cli/progress.js';
import { sink } from '../../support/sink.js';

describe('CLI progress', () => {
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
