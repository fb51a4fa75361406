// The flags that say what `setup` installs and what `health` expects to find installed: template
// shards and replicas (defaults AUDIT_INDEX_SHARDS / AUDIT_INDEX_REPLICAS) and the lifecycle ages.
import type { AuditConfig } from '../config/options.js';
import { type LifecycleOptions, lifecyclePolicy } from '../opensearch/lifecycle.js';
import type { TemplateOptions } from '../opensearch/template.js';
import { days, integer } from './args.js';

export const installFlags = {
  shards: { type: 'string' },
  replicas: { type: 'string' },
  'warm-after': { type: 'string' },
  'cold-after': { type: 'string' },
  'delete-after': { type: 'string' },
} as const;

export const installHelp = `  --shards N           primary shards per index (default AUDIT_INDEX_SHARDS, 5)
  --replicas N         replicas per index and in the warm state (default AUDIT_INDEX_REPLICAS,
                       1; 0 lets a one-node cluster be green)
  --warm-after 30d     hot → warm (replicas as above)
  --cold-after 60d     warm → cold: 0 replicas, read-only
  --delete-after 90d   cold → deleted`;

type Values = { [K in keyof typeof installFlags]?: string };

export function installSettings(
  values: Values,
  config: AuditConfig,
): { template: TemplateOptions; policy: LifecycleOptions } {
  const prefix = config.indexPrefix;
  const shards = values.shards === undefined ? config.indexShards : integer('shards', values.shards, 1, 1024);
  const replicas =
    values.replicas === undefined ? config.indexReplicas : integer('replicas', values.replicas, 0, 16);
  const policy: LifecycleOptions = {
    prefix,
    warmAfterDays: values['warm-after'] === undefined ? 30 : days('warm-after', values['warm-after']),
    coldAfterDays: values['cold-after'] === undefined ? 60 : days('cold-after', values['cold-after']),
    deleteAfterDays: values['delete-after'] === undefined ? 90 : days('delete-after', values['delete-after']),
    warmReplicas: replicas,
  };
  lifecyclePolicy(policy); // ages that do not increase are a usage error now, not halfway through setup
  return { template: { prefix, shards, replicas }, policy };
}
