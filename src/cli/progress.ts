// Progress for work that takes more than a second (spool replay, dead-letter re-drive), on stderr
// so stdout stays clean for the result. On a terminal a bar redrawn in place at most ten times a
// second; otherwise (a log, a CI job) a plain line every few seconds. Nothing shows for work that
// ends within the first second.

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  now?: () => number;
  /** Nothing is shown before this much time has passed. */
  delayMs?: number;
  /** Between plain lines when the stream is not a terminal. */
  plainEveryMs?: number;
}

const BAR = 30;
const CLEAR = '\r\x1b[2K';

export class Progress {
  #done = 0;
  #drawnAt = -Infinity;
  #drawn = false;
  readonly #started: number;
  readonly #now: () => number;
  readonly #delay: number;
  readonly #plainEvery: number;

  constructor(
    readonly stream: ProgressStream,
    readonly label: string,
    readonly total: number,
    opts: ProgressOptions = {},
  ) {
    this.#now = opts.now ?? Date.now;
    this.#started = this.#now();
    this.#delay = opts.delayMs ?? 1000;
    this.#plainEvery = opts.plainEveryMs ?? 5000;
  }

  get done(): number {
    return this.#done;
  }

  add(n: number): void {
    this.#done += n;
    const now = this.#now();
    if (now - this.#started < this.#delay) return;
    if (now - this.#drawnAt < (this.stream.isTTY ? 100 : this.#plainEvery)) return;
    this.#drawnAt = now;
    this.#draw(now);
  }

  #text(now: number): string {
    const pct = this.total > 0 ? Math.min(100, Math.floor((this.#done / this.total) * 100)) : 100;
    const rate = this.#done / Math.max(0.001, (now - this.#started) / 1000);
    return `${this.#done}/${this.total} (${pct}%), ${Math.round(rate)}/s`;
  }

  #draw(now: number): void {
    if (this.stream.isTTY) {
      const pct = this.total > 0 ? Math.min(1, this.#done / this.total) : 1;
      const fill = Math.round(pct * BAR);
      this.stream.write(
        `${CLEAR}${this.label} [${'#'.repeat(fill)}${'-'.repeat(BAR - fill)}] ${this.#text(now)}`,
      );
      this.#drawn = true;
    } else {
      this.stream.write(`${this.label}: ${this.#text(now)}\n`);
    }
  }

  /** A line for the log, above the bar. */
  note(line: string): void {
    if (this.#drawn) this.stream.write(CLEAR);
    this.stream.write(`${line}\n`);
    if (this.#drawn) this.#draw(this.#now());
  }

  /** Removes the bar; the caller prints the result. */
  finish(): void {
    if (this.#drawn) this.stream.write(CLEAR);
    this.#drawn = false;
  }
}
