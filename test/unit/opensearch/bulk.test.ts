import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type BulkDoc, GZIP_LEVEL, gzipBody, ndjson } from '../../../src/opensearch/bulk.js';

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

  it('writes the same lines as JSON.stringify of each action, as the index and routing change', () => {
    const docs: BulkDoc[] = [
      { index: 'audit-api-2026-11-27', id: 'a', routing: 'org-1', source: { x: 1 } },
      { index: 'audit-api-2026-11-27', id: 'b', routing: 'org "2" \\ \n é 😀 \u0001', source: {} },
      { index: 'audit-api-2026-11-28', id: 'c', source: { nested: { y: [1, 'two'] } } },
      { index: 'audit-api-2026-11-28', id: 'd', routing: undefined, source: { z: null } },
      { index: 'audit-api-2026-11-27', id: 'e', routing: 'org-1', source: { w: true } },
    ];
    const expected = docs
      .map((d) => {
        const action =
          d.routing === undefined
            ? { _index: d.index, _id: d.id }
            : { _index: d.index, _id: d.id, routing: d.routing };
        return `${JSON.stringify({ create: action })}\n${JSON.stringify(d.source)}\n`;
      })
      .join('');
    expect(ndjson(docs)).toBe(expected);
    expect(ndjson([])).toBe('');
  });

  it('gzips at GZIP_LEVEL', () => {
    const body = ndjson([{ index: 'i', id: '1', source: { s: 'abc'.repeat(1000) } }]);
    expect(gzipBody(body).equals(gzipSync(body, { level: GZIP_LEVEL }))).toBe(true);
  });

  it('gzips losslessly', () => {
    const body = ndjson([{ index: 'i', id: '1', source: { s: 'é'.repeat(100) } }]);
    expect(gunzipSync(gzipBody(body)).toString('utf8')).toBe(body);
  });
});
