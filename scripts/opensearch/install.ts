// Downloads the OpenSearch integ-test distribution and its plugins through Maven, unpacks them into
// the project's git-ignored cache and installs the plugins, once. Later runs find the marker file
// and reuse the tree.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface Artifact {
  groupId: string;
  artifactId: string;
  version: string;
}

/** The plugins a dev node gets from Maven Central; ISM is not there (ismPluginZip). */
export function pluginArtifacts(version: string): Artifact[] {
  return [
    { groupId: 'org.opensearch.plugin', artifactId: 'opensearch-job-scheduler', version: `${version}.0` },
  ];
}

/**
 * The Index State Management plugin zip for `version`, or undefined when there is none:
 * OPENSEARCH_DEV_ISM_ZIP, else `../shared/opensearch-plugins/` beside the repository, where CI
 * always has a build of it (ISM is not published on Maven Central; docs/OPENSEARCH-DEV-NODE.md).
 * A SHA256SUMS file beside the zip is checked; a zip that does not match it is refused.
 */
export function ismPluginZip(version: string, repoRoot: string): string | undefined {
  const zip =
    process.env.OPENSEARCH_DEV_ISM_ZIP ||
    join(repoRoot, '..', 'shared', 'opensearch-plugins', `opensearch-index-management-${version}.0.zip`);
  if (!existsSync(zip)) return undefined;
  const sums = join(dirname(zip), 'SHA256SUMS');
  if (existsSync(sums)) {
    const line = readFileSync(sums, 'utf8')
      .split('\n')
      .find((l) => l.trim().endsWith(basename(zip)));
    const want = line?.trim().split(/\s+/)[0];
    const got = createHash('sha256').update(readFileSync(zip)).digest('hex');
    if (want !== undefined && want !== got)
      throw new Error(`${zip}: SHA-256 ${got} differs from ${want} in ${sums}; refusing to install it`);
  }
  return zip;
}

/** The security plugin of the secure variant; its version must match the core exactly. */
export function securityPluginArtifact(version: string): Artifact {
  return { groupId: 'org.opensearch.plugin', artifactId: 'opensearch-security', version: `${version}.0` };
}

export function distributionArtifact(version: string): Artifact {
  return { groupId: 'org.opensearch.distribution.integ-test-zip', artifactId: 'opensearch', version };
}

export function run(cmd: string, args: string[], what: string, env?: NodeJS.ProcessEnv): void {
  const res = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env });
  if (res.error) throw new Error(`${what}: cannot run ${cmd}: ${res.error.message}`);
  if (res.status !== 0) {
    const out = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${what} failed (exit ${res.status}):\n${out}`);
  }
}

/** Copies one zip artifact out of Maven (and so into ~/.m2 as well) unless it is already cached. */
export function mavenZip(a: Artifact, downloads: string): string {
  const file = join(downloads, `${a.artifactId}-${a.version}.zip`);
  if (existsSync(file)) return file;
  mkdirSync(downloads, { recursive: true });
  const coords = `${a.groupId}:${a.artifactId}:${a.version}:zip`;
  run(
    'mvn',
    ['-B', '-q', 'dependency:copy', `-Dartifact=${coords}`, `-DoutputDirectory=${downloads}`],
    `Maven download of ${coords}`,
  );
  if (!existsSync(file)) throw new Error(`Maven reported success but ${file} is missing`);
  return file;
}

/**
 * Makes sure `<cache>/opensearch-<version>` holds an unpacked distribution with the plugins
 * installed; returns its path. `extraPlugins` are local plugin zips to install too (for example an
 * ISM zip obtained elsewhere). `secure` builds a separate `<cache>/opensearch-<version>-secure`
 * that also has the security plugin.
 */
export function ensureInstalled(opts: {
  cache: string;
  version: string;
  javaHome: string;
  extraPlugins: string[];
  log: (line: string) => void;
  secure?: boolean;
}): string {
  const { cache, version, javaHome, extraPlugins, log } = opts;
  const secure = opts.secure ?? false;
  const home = join(cache, `opensearch-${version}${secure ? '-secure' : ''}`);
  const marker = join(home, '.pdaas-installed');
  const plugins = [...pluginArtifacts(version), ...(secure ? [securityPluginArtifact(version)] : [])];
  const wanted = [...plugins.map((p) => p.artifactId), ...extraPlugins.map((z) => basename(z))].join('\n');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return home;

  const downloads = join(cache, 'downloads');
  log(`Downloading OpenSearch ${version} through Maven (cached in ${downloads})`);
  const dist = mavenZip(distributionArtifact(version), downloads);
  const zips = [...plugins.map((p) => mavenZip(p, downloads)), ...extraPlugins];

  rmSync(home, { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  if (secure) {
    // The zip unpacks to opensearch-<version>/, the plain node's folder: unpack aside, then move.
    const aside = join(cache, '.unpack-secure');
    rmSync(aside, { recursive: true, force: true });
    run('unzip', ['-q', '-o', dist, '-d', aside], `Unpacking ${dist}`);
    renameSync(join(aside, `opensearch-${version}`), home);
    rmSync(aside, { recursive: true, force: true });
  } else {
    run('unzip', ['-q', '-o', dist, '-d', cache], `Unpacking ${dist}`);
  }
  if (!existsSync(join(home, 'bin', 'opensearch'))) {
    throw new Error(`Unpacked ${dist} but ${home}/bin/opensearch is missing (found: ${readdirSync(cache)})`);
  }
  const env = { ...process.env, JAVA_HOME: javaHome, OPENSEARCH_JAVA_HOME: javaHome };
  for (const zip of zips) {
    log(`Installing plugin ${basename(zip)}`);
    run(
      join(home, 'bin', 'opensearch-plugin'),
      ['install', '--batch', `file://${zip}`],
      `Plugin ${zip}`,
      env,
    );
  }
  writeFileSync(marker, wanted);
  return home;
}

/** Lists the folder names under plugins/ (what `_cat/plugins` will show once the node runs). */
export function installedPlugins(home: string): string[] {
  const dir = join(home, 'plugins');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Finds a Java 11, 17 or 21 runtime: OPENSEARCH_JAVA_HOME, JAVA_HOME, Debian's JDK 17, then PATH. */
export function findJavaHome(): string {
  const candidates = [process.env.OPENSEARCH_JAVA_HOME, process.env.JAVA_HOME];
  for (const jvm of ['/usr/lib/jvm/java-17-openjdk-amd64', '/usr/lib/jvm/java-17-openjdk-arm64']) {
    candidates.push(jvm);
  }
  try {
    const javaBin = execFileSync(
      'readlink',
      ['-f', execFileSync('which', ['java'], { encoding: 'utf8' }).trim()],
      {
        encoding: 'utf8',
      },
    ).trim();
    candidates.push(javaBin.replace(/\/bin\/java$/, ''));
  } catch {
    // no java on PATH: the candidates above are all we have
  }
  const tried: string[] = [];
  for (const home of candidates) {
    if (!home || !existsSync(join(home, 'bin', 'java'))) continue;
    const res = spawnSync(join(home, 'bin', 'java'), ['-version'], { encoding: 'utf8' });
    const major = /version "(\d+)/.exec(res.stderr ?? '')?.[1];
    if (major === '11' || major === '17' || major === '21') return home;
    tried.push(`${home} (Java ${major ?? '?'})`);
  }
  throw new Error(
    `OpenSearch 2.19 needs Java 11, 17 or 21 (its SecurityManager is refused by Java 24+). ` +
      `Tried: ${tried.join(', ') || 'none found'}. Install openjdk-17-jre-headless or set OPENSEARCH_JAVA_HOME.`,
  );
}
