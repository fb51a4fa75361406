// Card numbers: a run of digits is a card only when its length and Luhn checksum say so.

/** The Luhn checksum of a string of digits. */
export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

export function isCard(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && luhn(digits);
}

/**
 * Length of the card number at the start of a grouped match: the whole match if it passes Luhn,
 * else the longest prefix ending at a group boundary that does (`4111 1111 1111 1111 123`, a card
 * and its CVV, is a card followed by ` 123`); 0 when there is none.
 */
export function cardPrefix(match: string): number {
  const digits = match.replace(/[ -]/g, '');
  if (isCard(digits)) return match.length;
  let n = 0;
  let best = 0;
  for (let i = 0; i < match.length; i++) {
    const c = match[i];
    if (c !== ' ' && c !== '-') n++;
    else if (n >= 13 && isCard(digits.slice(0, n))) best = i;
  }
  return best;
}

/** A JSON number that is a card number: an integer of 13 to 19 digits, first digit 2-8, Luhn-valid. */
export function isCardNumber(n: number): boolean {
  if (!Number.isInteger(n) || n < 2e12 || n >= 9e18) return false;
  const s = String(n);
  return /^[2-8][0-9]+$/.test(s) && isCard(s);
}

/**
 * Could `n` be a card number that JSON.parse rounded? Integers of 17 to 19 digits are past 2^53, so
 * their last digits are lost and Luhn cannot be checked on them (every 13-16 digit number from 2 to
 * 8 is below 2^53, exact). Judge them on the digits sent when the text is at hand (roundedCards()).
 */
export function mayBeRoundedCard(n: number): boolean {
  if (!Number.isInteger(n) || n < 1e16 || n >= 1e19) return false;
  const first = String(n).charCodeAt(0);
  return first >= 50 && first <= 56;
}

/**
 * The integers of 17 to 19 digits (first digit 2-8) written in `json`, keyed by the number
 * JSON.parse makes of them: true when the digits as written are a card number. One pass over the
 * text; runs inside strings are counted too, which can only redact a number equal to one of them.
 */
export function roundedCards(json: string): Map<number, boolean> {
  const out = new Map<number, boolean>();
  let i = 0;
  while (i < json.length) {
    const c = json.charCodeAt(i);
    if (c < 48 || c > 57) {
      i++;
      continue;
    }
    const start = i;
    while (i < json.length && json.charCodeAt(i) >= 48 && json.charCodeAt(i) <= 57) i++;
    // Not the digits of a fraction, and of a card's length and first digit.
    if (i - start < 17 || i - start > 19 || c < 50 || c > 56 || json[start - 1] === '.') continue;
    const digits = json.slice(start, i);
    const n = Number(digits);
    out.set(n, out.get(n) === true || isCard(digits));
  }
  return out;
}
