import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { generatedPages } from '../../scripts/docs/generate.js';
import { commands } from '../../src/cli/run.js';
import { envVariables } from '../../src/config/settings.js';
import { AuditError, codes, isAuditError } from '../../src/errors.js';
import { createAudit } from '../../src/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Every page a user or contributor reads: README.md, CONTRIBUTING.md and docs/*.md. */
const pages = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

/** The text of a Markdown page without code blocks and code spans, where `[a](b)` is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** The targets of the inline links in a Markdown page. */
function links(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (m) => m[1] as string,
  );
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('generated pages', () => {
  for (const [path, text] of Object.entries(generatedPages())) {
    it(`${path} is what npm run docs writes`, () => {
      expect(existsSync(join(root, path)), `${path} is missing: run npm run docs`).toBe(true);
      expect(read(path), `${path} is out of date: run npm run docs`).toBe(text);
    });
  }

  it('docs/CONFIGURATION.md has a row for every AUDIT_* variable, with its option and default', () => {
    const page = read('docs/CONFIGURATION.md');
    const rows = page.split('\n').filter((line) => /^\| `AUDIT_/.test(line));
    for (const v of envVariables) {
      const row = rows.find((line) => line.startsWith(`| \`${v.env}\` `));
      expect(row, `docs/CONFIGURATION.md has no row for ${v.env}`).toBeDefined();
      expect(row).toContain(`\`${v.option}\``);
      expect(row).toContain(v.default);
    }
    expect(rows.map((line) => line.split('`')[1]).sort()).toEqual(envVariables.map((v) => v.env).sort());
  });

  it('docs/ERRORS.md lists every error code with its meaning', () => {
    const page = read('docs/ERRORS.md');
    for (const code of Object.keys(codes)) {
      expect(page, `docs/ERRORS.md lacks ${code}`).toMatch(new RegExp(`^\\| \`${code}\` +\\| \\S`, 'm'));
    }
  });
});

describe('README', () => {
  const readme = read('README.md');

  it('stays short: at most 190 lines', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(190);
  });

  it('shows how to install, run the demo and run the tests', () => {
    expect(readme).toContain('npm install @pdaas/audit');
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
  });
});

describe('the documentation', () => {
  it('links only to files that exist', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const target of links(read(page))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // a URL or an anchor
        const file = decodeURIComponent(target.split('#')[0] as string);
        if (!existsSync(join(root, normalize(join(dirname(page), file))))) broken.push(`${page} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('names no error code that does not exist', () => {
    for (const page of pages) {
      for (const [code] of read(page).matchAll(/\bAUDIT_ERR_[A-Z0-9_]*[A-Z0-9]/g)) {
        expect(Object.keys(codes), `${page} names ${code}`).toContain(code);
      }
    }
  });

  it('names no AUDIT_* variable that does not exist', () => {
    const known = new Set([
      ...envVariables.map((v) => v.env),
      ...Object.keys(codes),
      'AUDIT_WRITER_PASSWORD', // the CLI's setup
      'AUDIT_WARN_TLS_UNVERIFIED', // a process warning
      'AUDIT_WARN_CREDENTIALS_PLAINTEXT', // a process warning (src/opensearch/client.ts)
      'AUDIT_WARN_TEMPLATE_DIFFERS', // a process warning (src/opensearch/setup.ts)
      'AUDIT_TEST_OPENSEARCH_URL', // the test suite's node
      'AUDIT_TEST_REQUIRE_ISM', // CI: a test node without the ISM plugin fails the ISM test
    ]);
    for (const page of pages) {
      for (const [name] of read(page).matchAll(/\bAUDIT_[A-Z0-9_]+/g)) {
        // `AUDIT_OPENSEARCH_*`, `AUDIT_RETRY_*`: a family, fine when some variable has that prefix.
        const ok = name.endsWith('_') ? [...known].some((k) => k.startsWith(name)) : known.has(name);
        expect(ok, `${page} names ${name}, which is no variable, code or warning`).toBe(true);
      }
    }
  });

  it('docs/METRICS.md describes every metric the library registers', async () => {
    const registry = new Registry();
    const audit = await createAudit({ enabled: false, registry, logger: silent });
    const names = registry.getMetricsAsArray().map((m) => m.name);
    await audit.close();
    expect(names.length).toBeGreaterThan(0);
    const page = read('docs/METRICS.md');
    for (const name of names) expect(page, `docs/METRICS.md lacks ${name}`).toContain(`\`${name}`);
  });

  it('docs/CLI.md describes every command and every flag its --help lists', () => {
    const page = read('docs/CLI.md');
    for (const [name, command] of Object.entries(commands)) {
      expect(page, `docs/CLI.md lacks the command ${name}`).toContain(`pdaas-audit ${name}`);
      for (const [flag] of command.help.matchAll(/--[a-z][a-z-]*/g)) {
        expect(page, `docs/CLI.md lacks ${flag} of ${name}`).toContain(flag);
      }
    }
  });
});

// Moved here with the README checks of the former test/unit/errors.test.ts.
describe('coded errors', () => {
  it('carry code, name and cause', () => {
    const cause = new Error('root');
    const err = new AuditError('AUDIT_ERR_OPENSEARCH', 'boom', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AuditError');
    expect(err.code).toBe('AUDIT_ERR_OPENSEARCH');
    expect(err.cause).toBe(cause);
    expect(isAuditError(err, 'AUDIT_ERR_OPENSEARCH')).toBe(true);
    expect(isAuditError(err, 'AUDIT_ERR_INVALID_OPTION')).toBe(false);
    expect(isAuditError(new Error('x'))).toBe(false);
  });
});
