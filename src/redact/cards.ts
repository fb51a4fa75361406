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
