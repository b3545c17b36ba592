/**
 * Who may read what the package writes (spill files, dead letters, Parquet
 * files and their write-ahead log): `private` (files 0600, folders 0700: rows
 * hold user ids, errors and, with content capture, prompts) or `group` (0640,
 * 0750: for a group that reads the files, a query engine or `llamonitor serve`
 * under another user). The modes are set exactly, not reduced by the umask, on
 * the files and folders the package creates; folders that already existed keep theirs.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export const FILE_MODES = ['private', 'group'] as const;
export type FileMode = (typeof FILE_MODES)[number];

export interface FileModes {
  readonly file: number;
  readonly folder: number;
}

export function fileModesOf(setting: FileMode = 'private'): FileModes {
  return setting === 'group' ? { file: 0o640, folder: 0o750 } : { file: 0o600, folder: 0o700 };
}

/** `path` and its parents up to `first`, the first folder mkdir created. */
function createdFolders(first: string, path: string): string[] {
  const folders = [path];
  for (let folder = path; folder !== first && dirname(folder) !== folder;) {
    folder = dirname(folder);
    folders.push(folder);
  }
  return folders;
}

/** Creates `path` and its missing parents with `mode`; returns the first folder created, if any. */
export async function makeFolders(path: string, mode: number): Promise<string | undefined> {
  const first = await mkdir(path, { recursive: true, mode });
  if (first !== undefined) for (const folder of createdFolders(first, path)) await chmod(folder, mode);
  return first;
}

export function makeFoldersSync(path: string, mode: number): string | undefined {
  const first = mkdirSync(path, { recursive: true, mode });
  if (first !== undefined) for (const folder of createdFolders(first, path)) chmodSync(folder, mode);
  return first;
}
