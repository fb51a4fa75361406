// A running process that uses a spool keeps its current segment open, and replays the spool
// itself once OpenSearch answers. Replaying or purging under it could delete a segment it is still
// appending to, so the CLI first looks for such a process: on Linux through /proc/<pid>/fd (other
// users' processes are visible only to root). Elsewhere it finds none; the help says to stop the
// services that share the spool first.
import { readdir, readlink, realpath } from 'node:fs/promises';
import { sep } from 'node:path';

export interface Holder {
  pid: number;
  file: string;
}

export async function spoolHolders(spoolDir: string): Promise<Holder[]> {
  const root = `${await realpath(spoolDir).catch(() => spoolDir)}${sep}`;
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return [];
  }
  const holders: Holder[] = [];
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (target.startsWith(root) && target.endsWith('.seg'))
        holders.push({ pid: Number(pid), file: target });
    }
  }
  return holders;
}
