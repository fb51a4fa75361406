import { describe, expect, it } from 'vitest';
import { isCapturable } from '../../../src/capture/body.js';

describe('isCapturable: the media type decides, not a parameter', () => {
  it.each([
    '',
    'application/json',
    'Application/JSON; charset=utf-8',
    ' application/json ',
    'application/vnd.api+json',
    'application/problem+json',
    'text/json',
    'application/x-ndjson',
    'text/plain',
    'text/html; charset=utf-8',
    'text/csv',
    'application/xml',
    'text/xml',
    'application/soap+xml; charset=utf-8',
    'image/svg+xml',
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=UTF-8',
    'multipart/form-data; boundary=----x',
  ])('captures %j', (type) => {
    expect(isCapturable(type)).toBe(true);
  });

  it.each([
    'application/octet-stream',
    'application/pdf',
    'image/png',
    'video/mp4',
    'multipart/mixed; boundary=json-xml',
    'multipart/related; type="application/xop+xml"; boundary=b',
    'application/octet-stream; name="data.json"',
    'application/zip; comment=xml',
    'application/jsonp-not',
    'application/x-www-form-urlencoded-ish',
    'json',
  ])('notes %j without capturing it', (type) => {
    expect(isCapturable(type)).toBe(false);
  });
});
