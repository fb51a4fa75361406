// The published API: what each entry point of package.json exports, and that every export carries
// a doc comment with an example, read from the sources with the TypeScript compiler.
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  exports: Record<string, string | { types: string; import: string }>;
};

/** package.json's `./dist/x.d.ts` → `src/x.ts`. */
function sourceOf(types: string): string {
  return `${root}${types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts')}`;
}

const entries = Object.entries(pkg.exports)
  .filter((e): e is [string, { types: string; import: string }] => typeof e[1] === 'object')
  .map(([subpath, target]) => ({ subpath, file: sourceOf(target.types) }));

const program = ts.createProgram(
  entries.map((e) => e.file),
  { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true },
);
const checker = program.getTypeChecker();

interface Exported {
  name: string;
  documented: boolean;
  example: boolean;
}

function exportsOf(file: string): Exported[] {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file} is not in the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${file} has no module symbol`);
  return checker.getExportsOfModule(moduleSymbol).map((sym) => {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    const docs = ts.displayPartsToString(target.getDocumentationComment(checker)).trim();
    const tags = target.getJsDocTags(checker).map((t) => t.name);
    return { name: sym.getName(), documented: docs.length > 0, example: tags.includes('example') };
  });
}

describe('the public API', () => {
  it('has an entry for the root, each adapter and the OpenSearch installers', () => {
    expect(entries.map((e) => e.subpath).sort()).toEqual(['.', './express', './hono', './opensearch']);
  });

  it('keeps the root small: the names users write, no plumbing', () => {
    const names = exportsOf(entries.find((e) => e.subpath === '.')?.file as string).map((e) => e.name);
    expect(names.length).toBeLessThanOrEqual(23);
    for (const plumbing of ['gzipBody', 'ndjson', 'postBulk', 'createClient', 'envVariables', 'BodyKind'])
      expect(names).not.toContain(plumbing);
    for (const wanted of ['createAudit', 'Audit', 'createReader', 'AuditError', 'isAuditError', 'readSpool'])
      expect(names).toContain(wanted);
  });

  for (const { subpath, file } of entries) {
    it(`documents every export of '${subpath}' with a doc comment and an example`, () => {
      const missing = exportsOf(file)
        .filter((e) => !e.documented || !e.example)
        .map((e) => `${e.name}${e.documented ? ' (no @example)' : ' (no doc comment)'}`);
      expect(missing, `in ${file}`).toEqual([]);
    });
  }
});
