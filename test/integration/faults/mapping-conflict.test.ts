// A mapping conflict: today's index already maps actor_id as an integer, so the events with string
// actor ids are refused per item (400). They must land in the dead-letter file, the rest must be
// indexed, and the accounting must be exact.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { drive, startApp, totalSent } from '../../../examples/traffic.js';
import {
  expectChainsIntact,
  expectExactAccounting,
  faultAudit,
  finish,
  summary,
} from '../../support/faults.js';
import { createConflictingIndex, testClient, testUrl, uniquePrefix } from '../../support/opensearch.js';

describe('mapping conflict', () => {
  it('mapping conflict: the refused events land in the dead-letter file, the rest is indexed', async () => {
    const prefix = uniquePrefix('conflict');
    const { audit, registry } = await faultAudit(prefix, testUrl());
    // Today's index exists already with actor_id mapped as an integer: string actor ids conflict.
    const index = await createConflictingIndex(prefix);
    const client = testClient();
    const app = await startApp('hono', audit);
    const sent = await drive(app.url, 1000, {
      orgs: 10,
      prefix,
      actorIds: (n) => (n % 4 === 0 ? `user-${n}` : String(n)),
    });
    const { final, metrics } = await finish(app, audit, registry);

    const conflicting = 250;
    expect(totalSent(sent)).toBe(1000);
    expect(final.captured).toBe(1000);
    expectExactAccounting(final);
    expect(final.deadLettered).toBe(conflicting);
    expect(final.indexed).toBe(1000 - conflicting);
    const dir = join(audit.config.spoolDir, 'dead-letter');
    const lines = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'));
    expect(lines).toHaveLength(conflicting);
    const first = JSON.parse(lines[0] as string) as {
      status: number;
      error: string;
      document: Record<string, unknown>;
    };
    expect(first.status).toBe(400);
    expect(first.error).toBe('mapper_parsing_exception');
    expect(String(first.document.actor_id)).toMatch(/^user-/);
    await client.indices.refresh({ index });
    expect((await client.count({ index })).body.count).toBe(1000 - conflicting);
    // The refused events' chain positions are listed as voided by the checkpoints: verify sees
    // gaps that are not deletions, and finds nothing wrong.
    expect(await expectChainsIntact(prefix, [...sent.keys()], client)).toBe(conflicting);
    console.log(summary('mapping conflict', final, metrics));
  });
});
