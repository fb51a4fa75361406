// Which indices a date deletes (the CLI's `indices delete --before`): the period each index suffix
// the library writes covers.
import { describe, expect, it } from 'vitest';
import { indexPeriod, indicesBefore } from '../../../src/opensearch/indices.js';

describe('index dates', () => {
  it('reads the daily, ISO-week and monthly suffixes the library writes', () => {
    expect(indexPeriod('audit-api-2026-11-27')).toEqual({
      start: Date.UTC(2026, 10, 27),
      end: Date.UTC(2026, 10, 28),
    });
    // 2026-w01 starts on Monday 2025-12-29 (the week holding January 4th).
    expect(indexPeriod('audit-api-2026-w01')).toEqual({
      start: Date.UTC(2025, 11, 29),
      end: Date.UTC(2026, 0, 5),
    });
    expect(indexPeriod('audit-api-2026-w48')?.start).toBe(Date.UTC(2026, 10, 23));
    expect(indexPeriod('audit-api-2026-12')).toEqual({
      start: Date.UTC(2026, 11, 1),
      end: Date.UTC(2027, 0, 1),
    });
    expect(indexPeriod('audit-api-2024-svc-2026-02')?.end).toBe(Date.UTC(2026, 2, 1));
    expect(indexPeriod('audit-api-latest')).toBeUndefined();
  });

  it('deletes only indices whose whole period lies before the day', () => {
    const names = [
      'a-x-2026-08-31',
      'a-x-2026-09-01',
      'a-x-2026-08',
      'a-x-2026-09',
      'a-x-2026-w35',
      'a-x-2026-w36',
      'a-x-other',
    ];
    const doomed = indicesBefore(
      names.map((index) => ({ index })),
      Date.UTC(2026, 8, 1),
    ).map((i) => i.index);
    // w35 is Aug 24-30, w36 Aug 31-Sep 6.
    expect(doomed).toEqual(['a-x-2026-08-31', 'a-x-2026-08', 'a-x-2026-w35']);
  });
});
