// Dead letters: events OpenSearch refused for good (a mapping conflict, a document it cannot
// parse), kept in AUDIT_SPOOL_DIR/dead-letter/<day>.ndjson, one JSON object per line. The one place
// that knows the format: the workers append through appendDeadLetters(); the CLI reads, counts,
// groups and rewrites through the rest. A line that does not parse is never dropped.
import { mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BulkItemResult } from '../opensearch/bulk.js';
import { readWhole, syncDir, withFile } from '../spool/files.js';
import type { AuditDocument } from '../worker/document.js';

/** One line of a dead-letter file. */
export interface DeadLetter {
  at: string;
  status: number;
  error?: string;
  reason?: string;
  index: string;
  id: string;
  routing?: string;
  document: Record<string, unknown>;
}

export interface DeadLetterFile {
  path: string;
  name: string;
  /** Bytes read: a worker may append while we work, and what it adds after this is kept. */
  bytes: number;
  entries: DeadLetter[];
  /** Lines that are not a dead letter (kept as they are). */
  unreadable: string[];
}

export function deadLetterDir(spoolDir: string): string {
  return join(spoolDir, 'dead-letter');
}

/** Appends refused documents, with OpenSearch's answer for each, to today's (UTC) file. */
export async function appendDeadLetters(
  spoolDir: string,
  dead: ReadonlyArray<readonly [AuditDocument, BulkItemResult]>,
): Promise<void> {
  const now = new Date().toISOString();
  let lines = '';
  for (const [doc, item] of dead) {
    const entry: DeadLetter = {
      at: now,
      status: item.status,
      error: item.error?.type,
      reason: item.error?.reason,
      index: doc.index,
      id: doc.id,
      routing: doc.routing,
      document: doc.source,
    };
    lines += `${JSON.stringify(entry)}\n`;
  }
  const dir = deadLetterDir(spoolDir);
  await mkdir(dir, { recursive: true });
  // Synced before the caller releases the ring space of these events: "dead-lettered" means on disk.
  await withFile(join(dir, `${now.slice(0, 10)}.ndjson`), 'a', async (file) => {
    await file.writeAll(Buffer.from(lines));
    await file.datasync();
  });
}

/** Dead letters kept now, readable or not (every non-empty line counts). */
export async function countDeadLetters(spoolDir: string): Promise<number> {
  let n = 0;
  for (const file of await readDeadLetters(spoolDir)) n += file.entries.length + file.unreadable.length;
  return n;
}

function parseLine(line: string): DeadLetter | undefined {
  try {
    const e = JSON.parse(line) as DeadLetter;
    if (
      typeof e.index === 'string' &&
      typeof e.id === 'string' &&
      typeof e.document === 'object' &&
      e.document !== null
    )
      return e;
  } catch {}
  return undefined;
}

/** The files of `day` (YYYY-MM-DD) or all of them, oldest first. */
export async function readDeadLetters(spoolDir: string, day?: string): Promise<DeadLetterFile[]> {
  const dir = deadLetterDir(spoolDir);
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.ndjson') && (day === undefined || f === `${day}.ndjson`))
    .sort();
  const files: DeadLetterFile[] = [];
  for (const name of names) {
    const buf = await readWhole(join(dir, name));
    const file: DeadLetterFile = {
      path: join(dir, name),
      name,
      bytes: buf.length,
      entries: [],
      unreadable: [],
    };
    for (const line of buf.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const e = parseLine(line);
      if (e) file.entries.push(e);
      else file.unreadable.push(line);
    }
    files.push(file);
  }
  return files;
}

/**
 * A reason without what is particular to one document (its id, a preview of the value), so that
 * 250 events refused for the same mapping conflict count as one reason.
 */
export function reasonGroup(reason: string | undefined): string {
  if (reason === undefined) return '(none)';
  return reason
    .replace(/ in document with id '[^']*'/g, '')
    .replace(/\. Preview of field's value: .*$/s, '')
    .replace(/\[[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\]/gi, '[…]')
    .slice(0, 300);
}

/** How long a worker's append that opened the file before it was taken away may still take. */
const APPEND_GRACE_MS = 100;

/**
 * Leaves `lines` (what must stay) in the day's file, and keeps every line a worker appended since
 * the file was read. The file is first renamed out of the workers' way: an append from then on
 * creates a new file, and one already under way lands in the renamed file, which is read again
 * after a grace period. So no append is lost, however long the caller worked in between.
 */
export async function rewrite(file: DeadLetterFile, lines: readonly string[]): Promise<void> {
  const taken = `${file.path}.redrive-${process.pid}`;
  try {
    await rename(file.path, taken);
  } catch {
    return writeBack(file.path, lines, Buffer.alloc(0)); // gone: another redrive took it
  }
  await new Promise((r) => setTimeout(r, APPEND_GRACE_MS));
  const now = await readWhole(taken);
  const appended = now.length > file.bytes ? now.subarray(file.bytes) : Buffer.alloc(0);
  await writeBack(file.path, lines, appended);
  await unlink(taken);
  await syncDir(dirname(file.path));
}

/** Appends `lines` and `appended` to the day's (possibly new) file, synced. */
async function writeBack(path: string, lines: readonly string[], appended: Buffer): Promise<void> {
  const kept = lines.length > 0 ? Buffer.from(`${lines.join('\n')}\n`) : Buffer.alloc(0);
  if (kept.length === 0 && appended.length === 0) return;
  await withFile(path, 'a', async (file) => {
    await file.writeAll(Buffer.concat([kept, appended]));
    await file.datasync();
  });
}
