// AUDIT_HANDLE_SIGNALS: on SIGTERM or SIGINT, drain (close()) and then let the signal end the
// process as it would have without us.

import type { AuditLogger } from './logger.js';

/** Installs the handlers; returns a function that removes them. */
export function drainOnSignals(close: () => Promise<unknown>, log: AuditLogger): () => void {
  const remove = () => {
    process.removeListener('SIGTERM', handler);
    process.removeListener('SIGINT', handler);
  };
  function handler(signal: NodeJS.Signals): void {
    log.info({ signal }, 'Audit draining before exit');
    const exit = () => {
      remove();
      // Other listeners may keep the process alive on purpose; with none, the default action
      // (exit) applies again.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    close().then(exit, (err: Error) => {
      log.error({ error: err.message }, 'Audit drain before exit failed');
      exit();
    });
  }
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
  return remove;
}
