// How setup and the single-item installers report an item: one line per item, stable wording
// ("template audit-template: unchanged") that runbooks and tests can match.
import type { ItemResult } from '../opensearch/setup.js';

export function itemLine(i: ItemResult): string {
  const head = `${i.kind} ${i.name}: ${i.state}`;
  if (i.changes && i.changes.length > 0) {
    const shown = i.changes.slice(0, 5).join('; ');
    return `${head} (${shown}${i.changes.length > 5 ? `; and ${i.changes.length - 5} more` : ''})`;
  }
  if (i.detail) return `${head} (${i.code ? `${i.code}: ` : ''}${i.detail})`;
  return head;
}

export function summaryLine(items: readonly ItemResult[]): string {
  const counts = new Map<string, number>();
  for (const i of items) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
  const changed = items.some((i) => i.state !== 'unchanged' && i.state !== 'skipped');
  const parts = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
  return changed ? parts : `nothing changed (${parts})`;
}
