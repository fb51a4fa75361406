// Checkpoints: where a chain stood at a moment, signed. Every AUDIT_CHECKPOINT_INTERVAL_SECONDS and
// at close, a worker writes one per chain it holds (also when the chain did not move, like
// CloudTrail's empty digest files), so that deleting a chain's newest entries, or rewriting a chain
// whole with recomputed hashes, shows: the signed head no longer matches. Each checkpoint links to
// the chain's previous one by hash. Stored in `<prefix>-checkpoints-YYYY-MM` and, with
// AUDIT_CHECKPOINT_DIR, appended to files.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  hash,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { canonicalJson, GENESIS } from './hash.js';

export const CHECKPOINT_DOMAIN = 'pdaas-audit/checkpoint/v1';

/**
 * The month's checkpoint index, `<prefix>-checkpoints-YYYY-MM`: inside `<prefix>-*`, so the writer
 * role of the deployment guide may write it and the lifecycle policy ages it like the events (the
 * service name `checkpoints` is reserved for it). Event searches leave it out (eventIndices()).
 */
export function checkpointIndex(prefix: string, at: Date = new Date()): string {
  return `${checkpointPattern(prefix).slice(0, -1)}${at.toISOString().slice(0, 7)}`;
}

/** Every checkpoint index of a prefix. */
export function checkpointPattern(prefix: string): string {
  return `${prefix}-${CHECKPOINT_SERVICE}-*`;
}

/** The index expression of a prefix's events: `<prefix>-*` without the checkpoint indices. */
export function eventIndices(pattern: string, prefix: string): string {
  return `${pattern},-${checkpointPattern(prefix)}`;
}

/** The service name the checkpoint indices take in `<prefix>-<service>-<date>`. */
export const CHECKPOINT_SERVICE = 'checkpoints';

/** A checkpoint as stored. Field names shared with events are mapped alike (organization_id, chain_*). */
export interface Checkpoint {
  organization_id: string;
  chain_id: string;
  /** The last position the checkpoint covers, and that entry's hash. */
  chain_seq: number;
  chain_hash: string;
  /** ISO time it was made. */
  occurred_at: string;
  /** checkpoint_hash of the chain's previous checkpoint, or GENESIS for its first. */
  checkpoint_prev: string;
  /**
   * Positions given since the previous checkpoint to events that will never be stored (refused
   * by OpenSearch for good, or dropped with a counted reason): gaps that are not deletions.
   */
  voided?: number[];
  /** SHA-256 over the domain and the canonical JSON of the fields above (and key_id when signed). */
  checkpoint_hash: string;
  /** SHA-256 (hex) of the signing public key's DER (SPKI), when signed. */
  key_id?: string;
  /** Ed25519 signature (base64) of `<domain>\n<checkpoint_hash>`, when signed. */
  signature?: string;
}

export interface SigningKey {
  key: KeyObject;
  keyId: string;
}

/** The fingerprint a checkpoint names its key by: SHA-256 of the public key's SPKI DER, hex. */
export function keyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** An Ed25519 private key from PEM (PKCS#8); throws a plain Error naming what is wrong. */
export function signingKeyFromPem(pem: string): SigningKey {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`the key is ${key.asymmetricKeyType ?? 'not asymmetric'}, not an Ed25519 private key`);
  return { key, keyId: keyId(createPublicKey(key)) };
}

/** An Ed25519 public key from PEM (SPKI), or from a private key's PEM. */
export function publicKeyFromPem(pem: string): { key: KeyObject; keyId: string } {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`the key is ${key.asymmetricKeyType ?? 'not asymmetric'}, not an Ed25519 key`);
  return { key, keyId: keyId(key) };
}

function hashOf(fields: Omit<Checkpoint, 'checkpoint_hash' | 'signature'>): string {
  return hash('sha256', `${CHECKPOINT_DOMAIN}\n${canonicalJson(fields)}`, 'hex');
}

function signed(checkpointHash: string): Buffer {
  return Buffer.from(`${CHECKPOINT_DOMAIN}\n${checkpointHash}`);
}

/** Makes (and signs, given a key) the checkpoint of one chain. */
export function makeCheckpoint(
  head: { organization: string; chainId: string; seq: number; hash: string },
  prev: string | undefined,
  at: Date,
  signingKey: SigningKey | undefined,
  voided: readonly number[] = [],
): Checkpoint {
  const fields = {
    organization_id: head.organization,
    chain_id: head.chainId,
    chain_seq: head.seq,
    chain_hash: head.hash,
    occurred_at: at.toISOString(),
    checkpoint_prev: prev ?? GENESIS,
    ...(voided.length > 0 && { voided: [...voided] }),
    ...(signingKey && { key_id: signingKey.keyId }),
  };
  const checkpointHash = hashOf(fields);
  return {
    ...fields,
    checkpoint_hash: checkpointHash,
    ...(signingKey && { signature: sign(null, signed(checkpointHash), signingKey.key).toString('base64') }),
  };
}

export type CheckpointVerdict = 'valid' | 'unsigned' | 'hash_mismatch' | 'unknown_key' | 'signature_invalid';

/** Checks a stored checkpoint's own hash and, when signed, its signature against `keys` (by key id). */
export function checkCheckpoint(cp: Checkpoint, keys: ReadonlyMap<string, KeyObject>): CheckpointVerdict {
  const { checkpoint_hash, signature, ...fields } = cp;
  let recomputed: string;
  try {
    recomputed = hashOf(fields);
  } catch {
    return 'hash_mismatch';
  }
  if (recomputed !== checkpoint_hash) return 'hash_mismatch';
  if (signature === undefined || cp.key_id === undefined) return 'unsigned';
  const key = keys.get(cp.key_id);
  if (!key) return 'unknown_key';
  try {
    return verify(null, signed(checkpoint_hash), key, Buffer.from(signature, 'base64'))
      ? 'valid'
      : 'signature_invalid';
  } catch {
    return 'signature_invalid';
  }
}
