/**
 * A temporary application folder, as a user's: its own node_modules, made of
 * links to this repository's packages (some left out, some replaced), and
 * llamonitor-otel as installed from the registry (a copy of package.json and
 * dist/, not a link: Node follows a link to its real path and would then find
 * this repository's node_modules, packages left out included).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../support/child-process.js';

export interface AppFolder {
  readonly path: string;
  remove(): void;
}

export interface AppFolderOptions {
  /** Packages this repository has that the application does not. */
  readonly without?: readonly string[];
  /** Packages linked from elsewhere: name → folder. */
  readonly replace?: Readonly<Record<string, string>>;
}

export function makeAppFolder(options: AppFolderOptions = {}): AppFolder {
  const path = mkdtempSync(join(tmpdir(), 'llamonitor-app-'));
  const modules = join(path, 'node_modules');
  const without = new Set(options.without ?? []);
  const replace = options.replace ?? {};
  const link = (name: string, target: string) => {
    if (name.includes('/')) mkdirSync(join(modules, name.split('/')[0]!), { recursive: true });
    symlinkSync(target, join(modules, name), 'dir');
  };
  mkdirSync(modules);
  for (const entry of readdirSync(join(REPO, 'node_modules'))) {
    if (entry.startsWith('.') || entry === 'llamonitor-otel') continue;
    const names = entry.startsWith('@')
      ? readdirSync(join(REPO, 'node_modules', entry)).map((name) => `${entry}/${name}`)
      : [entry];
    for (const name of names) {
      if (!without.has(name) && !(name in replace)) link(name, join(REPO, 'node_modules', name));
    }
  }
  for (const [name, target] of Object.entries(replace)) link(name, target);
  const installed = join(modules, 'llamonitor-otel');
  mkdirSync(installed);
  cpSync(join(REPO, 'package.json'), join(installed, 'package.json'));
  cpSync(join(REPO, 'dist'), join(installed, 'dist'), { recursive: true });
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
