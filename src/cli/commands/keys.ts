// `pdaas-audit keys generate`: an Ed25519 key pair for signing checkpoints. The private key goes to
// AUDIT_SIGNING_KEY_FILE of the application; the public key to whoever runs `verify`.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { keyId } from '../../chain/checkpoint.js';
import { EXIT, EXIT_HELP, parse, usageError } from '../args.js';
import type { Command } from '../context.js';

export const keys: Command = {
  summary: 'generate the Ed25519 key pair that signs checkpoints',
  help: `usage: pdaas-audit keys generate [--dir DIR] [--name NAME] [--force] [--json]

Writes DIR/NAME.key (the private key, PEM PKCS#8, mode 0600) and DIR/NAME.pub (the public key, PEM
SPKI) and prints the key id (SHA-256 of the public key) that checkpoints signed with it carry.
Give the application AUDIT_SIGNING_KEY_FILE=DIR/NAME.key; give verify --public-key DIR/NAME.pub.
To rotate, generate a new pair and switch the application to it: checkpoints name their key, so
verify takes the old and the new public key together.

  --dir DIR          where to write (default: the current directory)
  --name NAME        file name without extension (default: audit-signing)
  --force            overwrite existing files
  --json             {"privateKey", "publicKey", "keyId"}
${EXIT_HELP}`,

  async run(argv, out) {
    const { values, positionals } = parse(
      argv,
      { dir: { type: 'string' }, name: { type: 'string' }, force: { type: 'boolean' } },
      1,
    );
    if (positionals[0] !== 'generate') throw usageError('keys needs a subcommand: keys generate');
    const dir = resolve(values.dir ?? '.');
    const name = values.name ?? 'audit-signing';
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw usageError(`--name must be a file name, got '${name}'`);
    const privateFile = join(dir, `${name}.key`);
    const publicFile = join(dir, `${name}.pub`);
    if (!values.force && (existsSync(privateFile) || existsSync(publicFile)))
      throw usageError(`${privateFile} or ${publicFile} exists; --force overwrites`);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    mkdirSync(dir, { recursive: true });
    writeFileSync(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    const id = keyId(publicKey);
    if (values.json) out.json({ privateKey: privateFile, publicKey: publicFile, keyId: id });
    else {
      out.out(`private key: ${privateFile} (AUDIT_SIGNING_KEY_FILE of the application; keep it secret)`);
      out.out(`public key:  ${publicFile} (pdaas-audit verify --public-key)`);
      out.out(`key id:      ${id}`);
    }
    return EXIT.OK;
  },
};
