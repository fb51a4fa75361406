// Options and AUDIT_* environment variables, resolved once at start by walking the settings table
// (settings.ts): every wrong value and unknown option is reported in one error, and the result is
// frozen. Code options win over the environment.
import { inspect } from 'node:util';
import { CHECKPOINT_SERVICE } from '../chain/checkpoint.js';
import { AuditError } from '../errors.js';
import { type Given, resolveAddress } from './address.js';
import type { AuditConfig, AuditOptions } from './options.js';
import { hideUserinfo, INVALID } from './parsers.js';
import { specs } from './settings.js';

const topKeys = new Set<string>(['opensearch']);
const opensearchKeys = new Set<string>();
for (const s of specs) {
  if (s.option.startsWith('opensearch.')) opensearchKeys.add(s.option.slice('opensearch.'.length));
  else topKeys.add(s.option);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKeys(obj: Record<string, unknown>, known: Set<string>, prefix: string): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(obj)) {
    if (known.has(key)) continue;
    const near = [...known].find((k) => k.toLowerCase() === key.toLowerCase());
    problems.push(`unknown option "${prefix}${key}"${near ? ` (did you mean "${prefix}${near}"?)` : ''}`);
  }
  return problems;
}

// Credentials in a URL someone put where a host belongs would otherwise be echoed into the log.
const USERINFO = /\/\/[^/@\s]*@/g;

function show(value: unknown, secret: boolean): string {
  if (secret) {
    const type = typeof value;
    return value === '' ? 'an empty string' : `${type === 'object' ? 'an' : 'a'} ${type} (value hidden)`;
  }
  const s = typeof value === 'string' ? JSON.stringify(value) : inspect(value, { breakLength: Infinity });
  return (s.length > 200 ? `${s.slice(0, 200)}…` : s).replace(USERINFO, '//***@');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Resolves options and `AUDIT_*` variables into one validated, deeply frozen config. A code option
 * wins over its variable; an option set to `undefined` counts as not given.
 *
 * @throws AuditError `AUDIT_ERR_INVALID_OPTION` naming every wrong value and unknown option.
 * @example
 * const config = resolveConfig({ batchSize: 1000 }); // the rest from process.env or defaults
 */
export function resolveConfig(options: AuditOptions = {}, env: NodeJS.ProcessEnv = process.env): AuditConfig {
  if (!isObject(options)) {
    throw new AuditError(
      'AUDIT_ERR_INVALID_OPTION',
      `options must be an object, got ${show(options, false)}`,
    );
  }
  const problems = unknownKeys(options, topKeys, '');
  let nested: Record<string, unknown> = {};
  if (isObject(options.opensearch)) {
    nested = options.opensearch;
    problems.push(...unknownKeys(nested, opensearchKeys, 'opensearch.'));
  } else if (options.opensearch !== undefined) {
    problems.push(`opensearch must be an object, got ${show(options.opensearch, false)}`);
  }

  const values: Record<string, unknown> = {};
  const source: Record<string, string> = {};
  const given: Record<string, Given> = {};
  for (const s of specs) {
    const fromCode = s.option.startsWith('opensearch.')
      ? nested[s.option.slice('opensearch.'.length)]
      : (options as Record<string, unknown>)[s.option];
    const raw = s.env === undefined ? undefined : env[s.env];
    let value: unknown;
    if (fromCode !== undefined) {
      value = s.parser.fromCode(fromCode);
      source[s.option] = s.option;
      given[s.option] = { name: s.option, level: 'code' };
    } else if (raw !== undefined) {
      value = s.parser.fromEnv(raw);
      source[s.option] = s.env ?? s.option;
      given[s.option] = { name: s.env ?? s.option, level: 'env' };
    }
    if (value === INVALID) {
      const input = fromCode !== undefined ? fromCode : raw;
      const why = s.parser.why?.(input);
      problems.push(
        why !== undefined
          ? `${source[s.option]} ${why}`
          : `${source[s.option]} must be ${s.parser.expected}, got ${show(input, s.secret)}`,
      );
    }
    if (value === undefined || value === INVALID) {
      value = typeof s.fallback === 'function' ? s.fallback(values) : s.fallback;
    }
    values[s.option] = value;
  }
  if (values['opensearch.password'] !== undefined && values['opensearch.username'] === undefined) {
    problems.push(
      `${source['opensearch.password']} is set but neither AUDIT_OPENSEARCH_USERNAME nor opensearch.username is`,
    );
  }
  if (values.serviceName === CHECKPOINT_SERVICE)
    problems.push(
      `${source.serviceName} must not be "${CHECKPOINT_SERVICE}": <prefix>-${CHECKPOINT_SERVICE}-* holds the hash chains' checkpoints`,
    );
  const address = resolveAddress(values, given);
  if ('problem' in address) problems.push(address.problem);
  if (problems.length > 0) {
    // A password pasted into the wrong variable must not reach the log either.
    let message = problems.join('; ');
    for (const secret of [env.AUDIT_OPENSEARCH_PASSWORD, nested.password]) {
      if (typeof secret === 'string' && secret.length > 0) message = message.replaceAll(secret, '***');
    }
    throw new AuditError('AUDIT_ERR_INVALID_OPTION', message);
  }

  const config: Record<string, unknown> = {};
  const opensearch: Record<string, unknown> = {};
  for (const s of specs) {
    if (s.option.startsWith('opensearch.'))
      opensearch[s.option.slice('opensearch.'.length)] = values[s.option];
    else config[s.option] = values[s.option];
    if (s.option === 'serviceVersion') config.opensearch = opensearch; // keep the table's order
  }
  if (!('problem' in address)) {
    const { nodes, ...where } = address;
    Object.assign(opensearch, where, {
      url: nodes.length === 0 ? undefined : nodes.join(','),
      nodes,
    });
  }
  return deepFreeze(config as unknown as AuditConfig);
}

/**
 * The effective settings for the "Audit system initialized" log line: the config with the password
 * replaced by '***' (and, should a config not made by resolveConfig carry one, a user and password
 * in a node URL hidden).
 *
 * @example
 * logger.info(describeConfig(config), 'Audit system initialized');
 */
export function describeConfig(config: AuditConfig): Record<string, unknown> {
  const { password, url, nodes, ...opensearch } = config.opensearch;
  return {
    ...config,
    opensearch: {
      ...opensearch,
      url: url?.split(',').map(hideUserinfo).join(','),
      nodes: nodes.map(hideUserinfo),
      password: password === undefined ? undefined : '***',
    },
    excludedPaths: [...config.excludedPaths],
    durablePaths: [...config.durablePaths],
  };
}

/**
 * True when nothing is to be captured: `AUDIT_ENABLED=false` or an excluded path of `/*`, the two
 * switches that turn auditing off without a deploy.
 */
export function captureDisabled(config: AuditConfig): boolean {
  return !config.enabled || config.excludedPaths.some((p) => /^\/\*+$/.test(p));
}
