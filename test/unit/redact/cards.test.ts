import { describe, expect, it } from 'vitest';
import { luhn } from '../../../src/redact/cards.js';

describe('card numbers', () => {
  it('checks Luhn', () => {
    expect(['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117'].map(luhn)).toEqual(
      [true, true, true, true],
    );
    expect(['4111111111111112', '1234567812345678', '', '12a4'].map(luhn)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
