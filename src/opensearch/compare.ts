// Comparing what is installed with what would be installed, so `setup` changes nothing on a second
// run and `health` can say what differs. OpenSearch answers with its own spelling of what it was
// given (settings as strings, server-side fields added), so leaves compare as strings and the
// caller decides whether keys only the server has count.

export interface CompareOptions {
  /** Keys present only in `actual` are server additions, not differences (ISM adds retry, times). */
  ignoreExtra?: boolean;
  /** Arrays of scalars compare as sets (permission lists). */
  unordered?: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? 'absent' : JSON.stringify(v);
}

/** Every path where `actual` (installed) differs from `expected`, as `path: actual → expected`. */
export function differences(
  expected: unknown,
  actual: unknown,
  opts: CompareOptions = {},
  path = '',
): string[] {
  const at = path || '(root)';
  if (isObject(expected)) {
    if (!isObject(actual)) return [`${at}: ${show(actual)} → ${show(expected)}`];
    const out: string[] = [];
    for (const [k, v] of Object.entries(expected))
      out.push(...differences(v, actual[k], opts, path ? `${path}.${k}` : k));
    if (!opts.ignoreExtra) {
      for (const k of Object.keys(actual))
        if (!(k in expected)) out.push(`${path ? `${path}.${k}` : k}: ${show(actual[k])} → absent`);
    }
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return [`${at}: ${show(actual)} → ${show(expected)}`];
    if (opts.unordered && expected.every((v) => !isObject(v) && !Array.isArray(v))) {
      const a = expected.map(String).sort();
      const b = actual.map(String).sort();
      return a.every((v, i) => v === b[i]) ? [] : [`${at}: ${show(actual)} → ${show(expected)}`];
    }
    return expected.flatMap((v, i) => differences(v, actual[i], opts, `${path}[${i}]`));
  }
  const missing = (v: unknown) => v === undefined || v === null;
  if (missing(expected) && missing(actual)) return [];
  if (missing(expected) || missing(actual) || String(expected) !== String(actual))
    return [`${at}: ${show(actual)} → ${show(expected)}`];
  return [];
}

/** Index settings as flat `index.*` keys with string values: `{number_of_shards: 1}` and `{index: {number_of_shards: "1"}}` become the same. */
export function flatSettings(settings: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (v: unknown, path: string) => {
    if (isObject(v)) for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    else out[path.startsWith('index.') ? path : `index.${path}`] = String(v);
  };
  walk(settings ?? {}, '');
  return out;
}
