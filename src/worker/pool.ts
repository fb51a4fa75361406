// The piscina pool that runs one long-lived drain task per ring shard (drain.ts, next to this file),
// and restarts a shard's task when its thread dies: piscina replaces the thread, and the new drain
// re-reads every frame the dead one had not released.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { AuditError } from '../errors.js';
import type { AuditLogger } from '../logger.js';
import type { DrainTask, DurableMessage, WorkerMessage } from './task.js';

/** A restarted shard waits this long, so a thread that dies at once cannot spin the pool. */
const RESTART_DELAY_MS = 50;

/**
 * The compiled drain entry beside this module (dist/worker/drain.js). From source (tests, tsx) it
 * is still the compiled file: worker threads do not inherit a TypeScript loader.
 */
function drainFile(): string {
  const here = import.meta.url;
  const file = fileURLToPath(
    here.endsWith('.ts') ? new URL('../../dist/worker/drain.js', here) : new URL('./drain.js', here),
  );
  if (!existsSync(file))
    throw new AuditError('AUDIT_ERR_WORKER_FILE', `worker file ${file} is missing; run npm run build`);
  return file;
}

/** The task of one shard, without the port the pool makes for each run. */
export type ShardTask = Omit<DrainTask, 'port'>;

export class DrainPool {
  readonly #pool: Piscina;
  readonly #log: AuditLogger;
  #alive = 0;
  #restarting = 0;
  #restarts = 0;
  #stopping = false;

  readonly #onDurable: (m: DurableMessage) => void;

  /** `onDurable` receives each worker's word on durable routes' intents. */
  constructor(threads: number, log: AuditLogger, onDurable: (m: DurableMessage) => void = () => undefined) {
    this.#log = log;
    this.#onDurable = onDurable;
    this.#pool = new Piscina({
      filename: drainFile(),
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Node's default, said here because the spool relies on it: the files a terminated thread
      // opened are closed with it (see ../spool/files.ts for the one case Node misses).
      trackUnmanagedFds: true,
    });
  }

  /** Drain tasks running now. */
  get alive(): number {
    return this.#alive;
  }

  /** Drain tasks running or about to be restarted: close() waits until none is left. */
  get busy(): number {
    return this.#alive + this.#restarting;
  }

  /** Drain tasks restarted after their thread died. */
  get restarts(): number {
    return this.#restarts;
  }

  /** The pool's threads (fault-injection tests terminate one mid-batch). */
  get threads(): readonly { terminate(): Promise<number> }[] {
    return this.#pool.threads as never;
  }

  /** Runs the shard's drain until it returns; restarts it whenever its thread dies. */
  start(task: ShardTask): void {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: WorkerMessage) => {
      if (m.type === 'log') this.#log[m.level](m.fields ?? {}, m.msg);
      else if (m.type === 'durable') this.#onDurable(m);
    });
    this.#alive++;
    this.#pool.run({ ...task, port: port2 } satisfies DrainTask, { transferList: [port2] as never }).then(
      () => {
        this.#alive--;
        port1.close();
      },
      (err: Error) => {
        this.#alive--;
        port1.close();
        if (this.#stopping) return;
        this.#restarts++;
        this.#restarting++;
        this.#log.error({ shard: task.shard, error: err.message }, 'Audit worker died; restarting it');
        setTimeout(() => {
          this.#restarting--;
          if (!this.#stopping) this.start(task);
        }, RESTART_DELAY_MS).unref();
      },
    );
  }

  /** Stops the threads; a task still running is abandoned (its frames stay unreleased). */
  async destroy(): Promise<void> {
    this.#stopping = true;
    await this.#pool.destroy();
  }
}
