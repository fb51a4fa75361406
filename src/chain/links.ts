// Where a process's chains ended, kept in the spool folder, so that the next process on the same
// folder starts each organization's new chain linked to the old chain's last entry. A whole
// process's chain deleted (with its checkpoints) then still shows: the next chain links to it.
// Each worker writes `<spool>/chains/<chain id>.json` (written whole, then renamed) at every
// checkpoint round and at close; a new worker reads the files of other chain ids.
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What a new chain's first entry names as its predecessor (stored as `chain_link`). */
export interface ChainLink {
  /** The predecessor chain and its last position known when it stopped writing. */
  chain_id: string;
  chain_seq: number;
  /** The index that entry went to ('' when unknown): verify tells retention from deletion by it. */
  index: string;
  /**
   * When the predecessor's entry at chain_seq happened (or, unknown, when its heads were recorded,
   * which is later): verify's retention test.
   */
  occurred_at: string;
}

/** A predecessor's head for one organization: the link, and the hash the new chain starts from. */
export interface Predecessor {
  link: ChainLink;
  hash: string;
}

interface HeadsFile {
  chain_id: string;
  written_at: string;
  heads: Record<string, { seq: number; hash: string; at?: string; index?: string }>;
}

function dirOf(spoolDir: string): string {
  return join(spoolDir, 'chains');
}

/** Records where this writer's chains stand (the committed heads). Failures are the caller's to log. */
export async function writeHeads(
  spoolDir: string,
  chainId: string,
  heads: ReadonlyArray<{ organization: string; seq: number; hash: string; at: number; index: string }>,
  at = new Date(),
): Promise<void> {
  if (heads.length === 0) return;
  const dir = dirOf(spoolDir);
  await mkdir(dir, { recursive: true });
  // No prototype: an organization named __proto__ is a key like any other.
  const body: HeadsFile = { chain_id: chainId, written_at: at.toISOString(), heads: Object.create(null) };
  for (const h of heads)
    body.heads[h.organization] = {
      seq: h.seq,
      hash: h.hash,
      ...(h.at > 0 && { at: new Date(h.at).toISOString() }),
      ...(h.index !== '' && { index: h.index }),
    };
  const file = join(dir, `${chainId}.json`);
  try {
    await writeFile(`${file}.tmp`, JSON.stringify(body));
    await rename(`${file}.tmp`, file);
  } catch (err) {
    // A full volume leaves a partial temp file: remove it (deleting needs no space).
    await unlink(`${file}.tmp`).catch(() => undefined);
    throw err;
  }
}

/**
 * The predecessors of a new writer: for each organization, the most recent head recorded by a
 * writer of another process (`ownInstance` is this process's part of the chain ids). Unreadable
 * files are skipped: a missing link is shown by verify as a chain without predecessor, never as
 * a false one.
 */
export async function readPredecessors(
  spoolDir: string,
  ownInstance: string,
): Promise<Map<string, Predecessor>> {
  const out = new Map<string, Predecessor>();
  let names: string[];
  try {
    names = (await readdir(dirOf(spoolDir))).filter(
      (n) => n.endsWith('.json') && !n.startsWith(`${ownInstance}-`),
    );
  } catch {
    return out;
  }
  for (const name of names) {
    let file: HeadsFile;
    try {
      file = JSON.parse(await readFile(join(dirOf(spoolDir), name), 'utf8')) as HeadsFile;
    } catch {
      continue;
    }
    if (typeof file.chain_id !== 'string' || typeof file.written_at !== 'string' || !file.heads) continue;
    for (const [org, h] of Object.entries(file.heads)) {
      if (typeof h?.seq !== 'number' || typeof h.hash !== 'string') continue;
      const at = typeof h.at === 'string' ? h.at : file.written_at;
      const known = out.get(org);
      if (known && known.link.occurred_at >= at) continue;
      const index = typeof h.index === 'string' ? h.index : '';
      out.set(org, {
        link: { chain_id: file.chain_id, chain_seq: h.seq, index, occurred_at: at },
        hash: h.hash,
      });
    }
  }
  return out;
}
