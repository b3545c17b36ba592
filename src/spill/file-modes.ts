/**
 * Who may read the spill folder: `private` (files 0600, folders 0700: rows
 * hold user ids, errors and, with content capture, prompts) or `group` (0640,
 * 0750). The modes are set exactly, not reduced by the umask, on the files and
 * folders the spill store creates; a folder that already existed keeps its own.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export type FileModeSetting = 'private' | 'group';

export interface FileModes {
  readonly file: number;
  readonly folder: number;
}

export function fileModesOf(setting: FileModeSetting = 'private'): FileModes {
  return setting === 'group' ? { file: 0o640, folder: 0o750 } : { file: 0o600, folder: 0o700 };
}

/** Creates `path` and its missing parents with exactly `mode`; folders that existed are left as they are. */
export async function makeFolders(path: string, mode: number): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  // mkdir's mode is reduced by the umask: set it again on every folder mkdir created, `first` to `path`.
  for (let folder = path; ; folder = dirname(folder)) {
    await chmod(folder, mode);
    if (folder === first || dirname(folder) === folder) break;
  }
}
