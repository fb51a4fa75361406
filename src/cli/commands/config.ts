// `pdaas-audit config`: what the CLI (and a library started with the same environment) resolves
// from the AUDIT_* variables, with the password masked.
import { describeConfig } from '../../config/resolve.js';
import { EXIT, EXIT_HELP, parse } from '../args.js';
import { type Command, loadConfig } from '../context.js';

export const config: Command = {
  summary: 'the resolved AUDIT_* configuration, password masked',
  help: `usage: pdaas-audit config

Prints the configuration resolved from the AUDIT_* variables as JSON (with or without --json),
the password shown as ***. A wrong value is a usage error naming the variable.

${EXIT_HELP}`,

  async run(argv, out) {
    parse(argv, {});
    const c = loadConfig(out);
    out.json(describeConfig(c));
    return EXIT.OK;
  },
};
