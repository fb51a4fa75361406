// Starts a TypeScript worker thread from tests: Node 20 does not pass loader hooks to workers, so
// this plain module registers tsx inside the thread and then imports the real entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
