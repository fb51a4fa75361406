// The library logs through a pino-style logger (`info(fields, msg)`), so a pino instance can be
// passed as is. The default writes one JSON line per entry to stderr.

/**
 * A pino-style logger (`info(fields, msg)`); a pino instance fits as it is.
 *
 * @example
 * const audit = await createAudit({ logger: pino({ name: 'audit' }) });
 */
export interface AuditLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

function line(level: string, fields: Record<string, unknown>, msg: string): void {
  process.stderr.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), name: '@pdaas/audit', msg, ...fields })}\n`,
  );
}

export const defaultLogger: AuditLogger = {
  info: (fields, msg) => line('info', fields, msg),
  warn: (fields, msg) => line('warn', fields, msg),
  error: (fields, msg) => line('error', fields, msg),
};
