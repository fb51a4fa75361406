// AUDIT_EXCLUDED_PATHS globs, compiled once into a matcher that runs on every request: exact
// patterns go into a Set, wildcard patterns become literal parts matched with startsWith, indexOf
// and endsWith. No RegExp, and nothing allocated per call.
import { AuditError } from '../errors.js';

const SLASH = 47; // '/'

/** A glob split at its '*'s: `head*mid1*mid2*tail`; '*' matches any run, '/' included. */
interface Glob {
  readonly head: string;
  readonly middle: readonly string[];
  readonly tail: string;
  readonly minLength: number;
}

function trimSlash(pattern: string): string {
  return pattern.length > 1 && pattern.charCodeAt(pattern.length - 1) === SLASH
    ? pattern.slice(0, -1)
    : pattern;
}

function toGlob(pattern: string): Glob {
  const parts = pattern.split('*');
  const head = parts[0] ?? '';
  const tail = parts[parts.length - 1] ?? '';
  const middle = parts.slice(1, -1).filter((p) => p.length > 0); // '**' is the same as '*'
  const minLength = head.length + tail.length + middle.reduce((n, p) => n + p.length, 0);
  return { head, middle, tail, minLength };
}

function matchGlob(g: Glob, path: string, length: number): boolean {
  if (length < g.minLength || !path.startsWith(g.head) || !path.endsWith(g.tail, length)) return false;
  const end = length - g.tail.length;
  let from = g.head.length;
  for (let i = 0; i < g.middle.length; i++) {
    const part = g.middle[i] as string;
    const at = path.indexOf(part, from);
    if (at < 0 || at + part.length > end) return false;
    from = at + part.length;
  }
  return true;
}

/**
 * Compiles excluded-path patterns into a predicate on a request pathname (no query string).
 * A pattern without '*' matches that path exactly; '*' matches any characters, '/' included; a
 * pattern ending in '/*' also matches its bare prefix; a trailing '/' on the path is ignored.
 *
 * @example
 * const isExcluded = compileExcludedPaths(['/health', '/accounts/*']);
 * isExcluded('/accounts'); // true
 * isExcluded('/accounts/1/keys'); // true
 * isExcluded('/accountsx'); // false
 */
export function compileExcludedPaths(patterns: readonly string[]): (path: string) => boolean {
  const exact = new Set<string>();
  const globs: Glob[] = [];
  const addExact = (p: string) => {
    exact.add(p);
    if (p !== '/') exact.add(`${p}/`); // so '/health/' is found without slicing the path
  };
  for (const raw of patterns) {
    if (typeof raw !== 'string' || !raw.startsWith('/')) {
      throw new AuditError(
        'AUDIT_ERR_INVALID_OPTION',
        `excluded path must start with "/", got ${JSON.stringify(raw)}`,
      );
    }
    const pattern = trimSlash(raw);
    if (!pattern.includes('*')) {
      addExact(pattern);
      continue;
    }
    const glob = toGlob(pattern);
    if (glob.head === '/' && glob.middle.length === 0 && glob.tail === '')
      return function excludeAll() {
        return true;
      };
    globs.push(glob);
    if (pattern.endsWith('/*')) {
      const bare = trimSlash(pattern.slice(0, -2));
      if (bare.includes('*')) globs.push(toGlob(bare));
      else if (bare.length > 0) addExact(bare);
    }
  }

  if (globs.length === 0) {
    return function isExcludedExact(path: string): boolean {
      return exact.has(path);
    };
  }
  return function isExcluded(path: string): boolean {
    if (exact.has(path)) return true;
    const length =
      path.length > 1 && path.charCodeAt(path.length - 1) === SLASH ? path.length - 1 : path.length;
    for (let i = 0; i < globs.length; i++) {
      if (matchGlob(globs[i] as Glob, path, length)) return true;
    }
    return false;
  };
}
