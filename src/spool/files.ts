// File access for code that runs in a drain worker, made so that Worker.terminate() cannot leak a
// descriptor. Node closes the files a terminated worker holds, but not one whose asynchronous open
// (fs/promises open(), readFile(), writeFile(), truncate()) was still under way: that descriptor is made after
// the thread is gone and stays open for the life of the process (measured on Node 20: 1 to 2 in
// 40 terminations). Each such leak keeps a deleted segment's space taken and makes a remount of the
// volume fail. So files are opened and closed synchronously (a worker may block for that syscall),
// which puts every descriptor in the thread's table at once; reads, writes and syncs stay
// asynchronous. test/unit/spool/terminated-files.test.ts terminates writers at random points.
import { closeSync, fdatasync, fstatSync, fsync, ftruncate, openSync, read, write } from 'node:fs';
import { promisify } from 'node:util';

const writeAsync = promisify(write);
const readAsync = promisify(read);
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const ftruncateAsync = promisify(ftruncate);

/**
 * Writes all of `buf` through `write` (which answers the bytes it took): a file write may take
 * fewer bytes than asked (a full disk, a signal), and a record counted as spooled must be wholly
 * in the file before it is synced.
 */
export async function writeFully(
  write: (buf: Uint8Array, offset: number, length: number) => Promise<number>,
  buf: Uint8Array,
): Promise<void> {
  for (let at = 0; at < buf.length; ) {
    const written = await write(buf, at, buf.length - at);
    if (written <= 0) throw new Error(`write stopped after ${at} of ${buf.length} bytes`);
    at += written;
  }
}

/** An open file: `flags` as for fs.open ('a', 'w', 'r'). */
export class OpenFile {
  readonly #fd: number;
  #closed = false;

  constructor(path: string, flags: string) {
    this.#fd = openSync(path, flags);
  }

  /**
   * The descriptor while the file is open. A closed file's number may already belong to another
   * file of the process (any thread's), so nothing may use it again.
   */
  get #open(): number {
    if (this.#closed) throw Object.assign(new Error('file already closed'), { code: 'EBADF' });
    return this.#fd;
  }

  /** Writes all of `buf`, however many calls it takes. */
  async writeAll(buf: Uint8Array): Promise<void> {
    const fd = this.#open;
    return writeFully(
      async (b, offset, length) => (await writeAsync(fd, b, offset, length)).bytesWritten,
      buf,
    );
  }

  /** Reads the whole file. */
  async readAll(): Promise<Buffer> {
    const fd = this.#open;
    const buf = Buffer.allocUnsafe(fstatSync(fd).size);
    let at = 0;
    while (at < buf.length) {
      const { bytesRead: n } = await readAsync(fd, buf, at, buf.length - at, at);
      if (n === 0) break; // shorter than it was a moment ago
      at += n;
    }
    return buf.subarray(0, at);
  }

  async datasync(): Promise<void> {
    return fdatasyncAsync(this.#open);
  }

  async sync(): Promise<void> {
    return fsyncAsync(this.#open);
  }

  async truncate(length: number): Promise<void> {
    return ftruncateAsync(this.#open, length);
  }

  /**
   * Closes the file; again is a no-op. The descriptor is released even when close reports an
   * error (EIO, or a late write error on a network file system), which is then thrown.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}

/** Runs `use` on the file opened with `flags`, and closes it whatever happens. */
export async function withFile<T>(
  path: string,
  flags: string,
  use: (file: OpenFile) => Promise<T>,
): Promise<T> {
  const file = new OpenFile(path, flags);
  let result: T;
  try {
    result = await use(file);
  } catch (err) {
    // The error of the work is the one that says what happened (ENOSPC), not a close after it.
    try {
      file.close();
    } catch {}
    throw err;
  }
  file.close();
  return result;
}

/** The whole content of `path` (fs/promises readFile, without its asynchronous open). */
export function readWhole(path: string): Promise<Buffer> {
  return withFile(path, 'r', (file) => file.readAll());
}

/** Replaces the content of `path` (fs/promises writeFile, without its asynchronous open). */
export function writeWhole(path: string, data: string | Uint8Array): Promise<void> {
  return withFile(path, 'w', (file) => file.writeAll(typeof data === 'string' ? Buffer.from(data) : data));
}

/**
 * Makes a file's creation, rename or removal in `dir` durable: syncing a file does not sync the
 * directory entry that names it, and a crash could otherwise lose a synced segment's name or bring
 * a deleted one back. Best effort: a filesystem that cannot sync a directory is left as it is.
 */
export async function syncDir(dir: string): Promise<void> {
  try {
    await withFile(dir, 'r', (file) => file.sync());
  } catch {
    // not supported here
  }
}
