/**
 * The spill folder must be a folder of its own: replay moves and removes files
 * in it, so it can be neither the Parquet dataset folder, nor inside it, nor
 * hold it. Paths are compared as the file system resolves them (symbolic links
 * followed), for the part of each that exists yet.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { ConfigError } from '../errors.js';

/** `path` absolute with symbolic links resolved, as far as it exists; the rest appended as given. */
function realPathOf(path: string): string {
  let existing = resolve(path);
  const missing: string[] = [];
  for (;;) {
    try {
      return join(realpathSync.native(existing), ...missing);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const parent = dirname(existing);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === existing) return resolve(path);
      missing.unshift(basename(existing));
      existing = parent;
    }
  }
}

/** True when `inner` is `outer` or lies under it. */
function within(inner: string, outer: string): boolean {
  const path = relative(outer, inner);
  return path === '' || (!path.startsWith('..') && !isAbsolute(path));
}

/** Throws a ConfigError when the spill folder is the dataset folder `<directory>/<table>`, is inside it or holds it. */
export function checkSpillApart(
  spill: { readonly path: string; readonly label: string },
  dataset: { readonly directory: string; readonly table: string; readonly labels: string },
): void {
  const spillPath = realPathOf(spill.path);
  const datasetPath = realPathOf(join(dataset.directory, dataset.table));
  const relation =
    spillPath === datasetPath
      ? 'is the Parquet dataset folder'
      : within(spillPath, datasetPath)
        ? 'is inside the Parquet dataset folder'
        : within(datasetPath, spillPath)
          ? 'holds the Parquet dataset folder'
          : undefined;
  if (relation === undefined) return;
  throw new ConfigError(
    `${spill.label}=${spill.path} is not allowed: it ${relation} ${datasetPath} (from ${dataset.labels}). ` +
      'Replay moves and removes files in the spill folder: give it a folder of its own, such as ./llamonitor-spill',
  );
}
