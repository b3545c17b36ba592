/**
 * The package as a user receives it: `npm pack` of what a fresh clone holds
 * (no dist/, so `prepack` must build), then the tarball installed into a new
 * application with `npm install --offline`. Offline means npm may not fetch a
 * registry's package list; the application gets a lockfile cut from this
 * repository's own, so every dependency resolves to a version whose tarball
 * `npm ci` has already put in the local cache.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO, type Finished } from '../support/child-process.js';

const execFileAsync = promisify(execFile);

interface LockEntry {
  readonly version: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly [field: string]: unknown;
}

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly dependencies: Record<string, string>;
  readonly peerDependencies: Record<string, string>;
  readonly peerDependenciesMeta: Record<string, { optional?: boolean }>;
  readonly bin: Record<string, string>;
  readonly engines: Record<string, string>;
}

export interface PackedFile {
  readonly path: string;
}

export interface Packed {
  /** The folder holding the tarball, the clone it was packed from and the application. */
  readonly folder: string;
  readonly tarball: string;
  readonly files: readonly string[];
  readonly manifest: Manifest;
}

/** Runs a command to its end (bounded), never throwing: the caller asserts on the outcome. */
export function run(
  command: string,
  args: readonly string[],
  cwd: string,
  timeoutMillis = 120_000,
): Promise<Finished> {
  const child = spawn(command, args, {
    cwd,
    // Node's folder first, so that `#!/usr/bin/env node` in an installed bin finds this Node.
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMillis);
  return new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

function failure(what: string, finished: Finished): Error {
  return new Error(
    `${what} failed (exit ${finished.code ?? finished.signal}):\n${finished.stdout}\n${finished.stderr}`,
  );
}

/** Copies the files a clone of this checkout would hold (tracked and new, nothing ignored: no dist/). */
async function copyAsFreshClone(into: string): Promise<void> {
  const { stdout } = await execFileAsync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: REPO,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const paths = stdout.split('\0').filter((p) => p !== '');
  for (const path of paths) {
    await mkdir(dirname(join(into, path)), { recursive: true });
    // A tracked file deleted in the work tree is not in a clone of what is here either.
    await cp(join(REPO, path), join(into, path)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  // The build tools, as `npm ci` would install them.
  await symlink(join(REPO, 'node_modules'), join(into, 'node_modules'));
}

/** A compiled module whose source is gone, as an older build leaves in a developer's dist/. */
export const LEFT_OVER_MODULE = 'dist/left-over-from-an-older-build.js';

/**
 * `npm pack` of a fresh copy of this checkout, into a new temporary folder;
 * the copy's dist/ holds only LEFT_OVER_MODULE, which prepack must clear away.
 */
export async function packFreshClone(): Promise<Packed> {
  const folder = await mkdtemp(join(tmpdir(), 'llamonitor-pack-'));
  try {
    const clone = join(folder, 'clone');
    await copyAsFreshClone(clone);
    await mkdir(join(clone, 'dist'));
    await writeFile(join(clone, LEFT_OVER_MODULE), 'export {};\n');
    const packed = await run('npm', ['pack', '--json', '--pack-destination', folder], clone);
    if (packed.code !== 0) throw failure('npm pack', packed);
    // Lifecycle scripts print to stderr with --json; stdout holds the JSON report alone.
    const [report] = JSON.parse(packed.stdout) as [{ filename: string; files: PackedFile[] }];
    const manifest = JSON.parse(await readFile(join(clone, 'package.json'), 'utf8')) as Manifest;
    return {
      folder,
      tarball: join(folder, report.filename),
      files: report.files.map((f) => f.path),
      manifest,
    };
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}

/** The lock path where npm finds `name` from the package at `from`: its own node_modules, then its parents'. */
function resolveInLock(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let at = from;
  for (;;) {
    const key = `${at === '' ? '' : `${at}/`}node_modules/${name}`;
    if (packages[key]) return key;
    if (at === '') return undefined;
    const parent = at.lastIndexOf('/node_modules/');
    at = parent < 0 ? '' : at.slice(0, parent);
  }
}

/**
 * The lockfile of an application that depends on the tarball and on `alsoInstall`
 * (names): the tarball's dependencies and required peers, and everything they
 * need, each at the version and place this repository's lockfile gives it.
 */
async function lockFor(
  manifest: Manifest,
  tarballSpec: string,
  alsoInstall: readonly string[],
): Promise<{ lock: object; dependencies: Record<string, string> }> {
  const repoLock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const chosen = new Set<string>();
  const queue: string[] = [];
  const need = (from: string, name: string): void => {
    const key = resolveInLock(repoLock.packages, from, name);
    if (!key) throw new Error(`${name} (needed from '${from || 'the package'}') is not in package-lock.json`);
    if (!chosen.has(key)) {
      chosen.add(key);
      queue.push(key);
    }
  };
  const requiredPeers = Object.keys(manifest.peerDependencies).filter(
    (name) => manifest.peerDependenciesMeta[name]?.optional !== true,
  );
  for (const name of [...Object.keys(manifest.dependencies), ...requiredPeers, ...alsoInstall])
    need('', name);
  for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
    const entry = repoLock.packages[key] as LockEntry;
    for (const name of Object.keys(entry.dependencies ?? {})) need(key, name);
    // Optional ones where the repository has them (a native binding for this platform: DuckDB's).
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      if (resolveInLock(repoLock.packages, key, name)) need(key, name);
    }
    for (const name of Object.keys(entry.peerDependencies ?? {})) {
      if (entry.peerDependenciesMeta?.[name]?.optional !== true) need(key, name);
    }
  }
  const dependencies: Record<string, string> = { [manifest.name]: tarballSpec };
  for (const name of [...requiredPeers, ...alsoInstall]) {
    dependencies[name] = (repoLock.packages[`node_modules/${name}`] as LockEntry).version;
  }
  const packages: Record<string, object> = {
    '': { name: 'packed-app', version: '1.0.0', dependencies },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: tarballSpec,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
      peerDependencies: manifest.peerDependencies,
      peerDependenciesMeta: manifest.peerDependenciesMeta,
    },
  };
  for (const key of [...chosen].sort()) {
    // The repository's flags (dev, peer) say how the repository uses a package, not how this application does.
    const {
      dev: _dev,
      peer: _peer,
      devOptional: _devOptional,
      ...entry
    } = repoLock.packages[key] as LockEntry;
    packages[key] = entry;
  }
  return {
    lock: { name: 'packed-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages },
    dependencies,
  };
}

/**
 * A new ESM application in `<packed.folder>/app` with the tarball, its required
 * peers and `alsoInstall` installed by `npm install --offline`; returns its folder.
 */
export async function installIntoNewApp(packed: Packed, alsoInstall: readonly string[]): Promise<string> {
  const app = join(packed.folder, 'app');
  await mkdir(app);
  const tarballSpec = `file:../${packed.tarball.slice(packed.folder.length + 1)}`;
  const { lock, dependencies } = await lockFor(packed.manifest, tarballSpec, alsoInstall);
  const manifest = { name: 'packed-app', version: '1.0.0', private: true, type: 'module', dependencies };
  await writeFile(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  await writeFile(join(app, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const installed = await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], app);
  if (installed.code !== 0) {
    throw failure(
      'npm install --offline (a missing tarball in the npm cache means `npm ci` has not run here)',
      installed,
    );
  }
  return app;
}
