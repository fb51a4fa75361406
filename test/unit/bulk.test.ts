import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipBody, ndjson } from '../../src/opensearch/bulk.js';

describe('bulk bodies', () => {
  it('writes one create action with id and routing per document, newline-terminated', () => {
    const body = ndjson([
      { index: 'audit-api-2026-11-27', id: 'a', routing: 'org-1', source: { x: 1 } },
      { index: 'audit-api-2026-11-27', id: 'b', source: { y: 'two\nlines' } },
    ]);
    const lines = body.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('');
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      create: { _index: 'audit-api-2026-11-27', _id: 'a', routing: 'org-1' },
    });
    expect(JSON.parse(lines[2] ?? '')).toEqual({ create: { _index: 'audit-api-2026-11-27', _id: 'b' } });
    expect(JSON.parse(lines[3] ?? '')).toEqual({ y: 'two\nlines' });
  });

  it('gzips losslessly', () => {
    const body = ndjson([{ index: 'i', id: '1', source: { s: 'é'.repeat(100) } }]);
    expect(gunzipSync(gzipBody(body)).toString('utf8')).toBe(body);
  });
});
