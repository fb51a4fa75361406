#!/usr/bin/env node
// pdaas-audit, the package's bin: every operator step (setup, health, search, spool, dead letters,
// indices, dashboards) as a command instead of hand-written curl, jq and python.
// Everything is in run.ts and commands/; this file only binds them to the process.
import { run } from './run.js';

run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`pdaas-audit: ${err.message}\n`);
    process.exitCode = 1;
  },
);
