import { describe, expect, it } from 'vitest';
import { traceIdFrom } from '../../../src/capture/request-fields.js';

describe('request fields', () => {
  it('takes the trace id from a W3C traceparent and refuses malformed ones', () => {
    expect(traceIdFrom('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(traceIdFrom('garbage')).toBe('');
    expect(traceIdFrom(undefined)).toBe('');
  });
});
