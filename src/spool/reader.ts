// Reading the spool without replaying it: what the CLI and the demo show of events waiting on
// disk (with no OpenSearch configured, that is every event).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditDocument } from '../worker/document.js';
import { readWhole } from './files.js';
import { decodeRecords } from './records.js';

/**
 * One spool file: its intact documents, and whether its tail was torn or corrupt.
 *
 * @example
 * for await (const { file, documents, corruptTail } of readSpool(dir)) console.log(file, documents.length, corruptTail);
 */
export interface SpooledSegment {
  file: string;
  documents: AuditDocument[];
  corruptTail: boolean;
}

/**
 * Every segment under `spoolDir`, oldest first, with its intact documents: the events waiting on
 * disk (with no OpenSearch configured, every event). Reading does not replay or remove them.
 *
 * @example
 * for await (const segment of readSpool('.audit-spool'))
 *   for (const doc of segment.documents) console.log(doc.source.action);
 */
export async function* readSpool(spoolDir: string): AsyncGenerator<SpooledSegment> {
  const shards = (await readdir(spoolDir, { withFileTypes: true }).catch(() => [])).filter(
    (e) => e.isDirectory() && /^shard-\d+$/.test(e.name),
  );
  const files: string[] = [];
  for (const s of shards) {
    for (const f of await readdir(join(spoolDir, s.name)))
      if (f.endsWith('.seg')) files.push(join(spoolDir, s.name, f));
  }
  files.sort((a, b) => (a.slice(a.lastIndexOf('/')) < b.slice(b.lastIndexOf('/')) ? -1 : 1));
  for (const file of files) {
    const { docs, corruptTail } = decodeRecords(await readWhole(file));
    yield { file, documents: docs, corruptTail };
  }
}
