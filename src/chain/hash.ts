// The hash chain's one formula, shared by the worker that writes a chain and by `verify` that checks
// it: an entry's hash is SHA-256 over a domain tag, its sequence number, the previous entry's hash
// and the RFC 8785 (JCS) canonical JSON of the document as stored, minus its own chain_hash.
//
// The worker builds documents whose keys are already in canonical order (toDocument writes them
// sorted; the sanitizer sorts the keys of every object it copies), so JSON.stringify of the
// document is its canonical JSON, and that one string serves the hash, the bulk body and the spool.
// Where JSON.stringify and JCS could differ (an object key that is an array index, which JavaScript
// always iterates first), the document is marked and hashed over `canonicalize` instead.
import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** Changes only with the formula: a verifier names the version it checks. */
export const CHAIN_DOMAIN = 'pdaas-audit/chain/v1';
/** The `chain_prev` of a chain's first entry. */
export const GENESIS = '0'.repeat(64);

/** The fields the chain adds to every stored document. */
export const ChainField = {
  ID: 'chain_id',
  SEQ: 'chain_seq',
  PREV: 'chain_prev',
  HASH: 'chain_hash',
} as const;

/** SHA-256 (hex) of one entry, given the canonical JSON of its document without chain_hash. */
export function entryHash(seq: number, prev: string, canonicalJson: string): string {
  return hash('sha256', `${CHAIN_DOMAIN}\n${seq}\n${prev}\n${canonicalJson}`, 'hex');
}

/** RFC 8785 canonical JSON of `value` (throws on a lone surrogate, which JCS cannot express). */
export function canonicalJson(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) throw new TypeError('a value with no JSON form has no canonical JSON');
  return out;
}

/** The hash `doc` (a stored document, as read back) should carry: computed over all but chain_hash. */
export function recomputeHash(doc: Record<string, unknown>): string {
  const { [ChainField.HASH]: _own, ...rest } = doc;
  return entryHash(Number(doc[ChainField.SEQ]), String(doc[ChainField.PREV]), canonicalJson(rest));
}

/** True for a key that JavaScript iterates before all others (an array index: "0" to "4294967294"). */
export function isIndexKey(key: string): boolean {
  if (key.length === 0 || key.length > 10) return false;
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57 || (c === 48 && key.length > 1)) return false;
  for (let i = 1; i < key.length; i++) {
    const d = key.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return Number(key) < 4294967295;
}
