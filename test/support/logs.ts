// Collects what the library logs, one line per entry: `<level> <msg> <fields as JSON>`.
import type { CreateAuditOptions } from '@pdaas/audit';

export interface LogLines {
  lines: string[];
  logger: NonNullable<CreateAuditOptions['logger']>;
}

export function collectLogs(): LogLines {
  const lines: string[] = [];
  const log = (level: string) => (fields: Record<string, unknown>, msg: string) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields)}`);
  };
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error') } };
}
