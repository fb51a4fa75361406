// Real disk faults for the fault tests: a size-limited tmpfs is a real full disk (ENOSPC), a
// read-only remount a real EROFS. Mounting needs root, as CI runs; elsewhere these tests fail with
// this explanation rather than pass without the fault.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

function mount(args: string[]): void {
  if (process.getuid?.() !== 0)
    throw new Error('this fault test mounts a tmpfs and needs root (CI runs as root)');
  execFileSync('mount', args, { stdio: 'pipe' });
}

/** Mounts a tmpfs of `bytes` at `dir` (created if missing); returns a function that unmounts it. */
export function tmpfs(dir: string, bytes: number): () => void {
  mkdirSync(dir, { recursive: true });
  mount(['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
  return () => execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
}

/** Remounts the tmpfs at `dir` read-only (writes fail with EROFS) or, with `writable`, back. */
export function remount(dir: string, mode: 'ro' | 'rw'): void {
  mount(['-o', `remount,${mode}`, dir]);
}
