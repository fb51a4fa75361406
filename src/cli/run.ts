// The dispatcher: finds the command, answers --help, and turns what a command throws into an exit
// code scripts can rely on (2 for a usage error, AUDIT_ERR_INVALID_OPTION; 1 for anything else).
import { isAuditError } from '../errors.js';
import { EXIT, EXIT_HELP } from './args.js';
import { config } from './commands/config.js';
import { dashboards } from './commands/dashboards.js';
import { deadLetters } from './commands/dead-letters.js';
import { count, search, tail } from './commands/events.js';
import { health } from './commands/health.js';
import { indices } from './commands/indices.js';
import { intents } from './commands/intents.js';
import { keys } from './commands/keys.js';
import { policy, role, template } from './commands/payloads.js';
import { setup } from './commands/setup.js';
import { snapshot } from './commands/snapshot.js';
import { spool } from './commands/spool.js';
import { verify } from './commands/verify.js';
import type { Command } from './context.js';
import { type Io, Output } from './output.js';

export const commands: Record<string, Command> = {
  setup,
  health,
  count,
  search,
  tail,
  verify,
  intents,
  keys,
  indices,
  spool,
  'dead-letters': deadLetters,
  snapshot,
  dashboards,
  template,
  policy,
  role,
  config,
};

const overview = `usage: pdaas-audit <command> [options]        pdaas-audit <command> --help for its options

${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(13)} ${c.summary}`)
  .join('\n')}

Configured by the AUDIT_* variables of the library (connection: AUDIT_OPENSEARCH_URL, or _HOST,
_PORT, _USE_SSL; _VERIFY_CERTS, _CA_CERTS, _USERNAME, _PASSWORD, _TIMEOUT; AUDIT_INDEX_PREFIX,
AUDIT_SPOOL_DIR). Every command takes --url URL[,URL...] in place of the address variables.
Results go to stdout (--json for programs), messages and progress to stderr.
${EXIT_HELP}`;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const out = new Output(io, [io.env.AUDIT_OPENSEARCH_PASSWORD, io.env.AUDIT_WRITER_PASSWORD]);
  const [name, ...rest] = argv;
  if (name === undefined) {
    out.err(overview);
    return EXIT.USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    out.out(overview);
    return EXIT.OK;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    out.err(`pdaas-audit: unknown command '${name}'\n\n${overview}`);
    return EXIT.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out.out(command.help);
    return EXIT.OK;
  }
  try {
    return await command.run(rest, out);
  } catch (err) {
    const code = isAuditError(err) ? `${err.code}: ` : '';
    const usage = isAuditError(err, 'AUDIT_ERR_INVALID_OPTION');
    out.err(
      `pdaas-audit ${name}: ${code}${(err as Error).message}${usage ? `\n(pdaas-audit ${name} --help for usage)` : ''}`,
    );
    return usage ? EXIT.USAGE : EXIT.FAILED;
  }
}
