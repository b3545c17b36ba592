/**
 * Writing a file so that it is whole or absent: every byte written (a write
 * may take fewer bytes than it was given when the disk fills) and synced
 * before the file is given its name, and on any failure nothing left behind.
 */
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncFolder, writeFully } from '../sinks/durable-fs.js';

/** A write the file system did not take whole: the disk is full, or a write failed. */
export class IncompleteWriteError extends Error {
  readonly code: string | undefined;

  constructor(path: string, written: number, total: number, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const why =
      code === 'ENOSPC' || code === 'EDQUOT'
        ? `the file system is full (${code}): free space there or choose a folder on a larger disk`
        : ((cause as Error | undefined)?.message ?? String(cause));
    super(`writing ${path} stopped after ${written} of ${total} bytes, and nothing of it was kept: ${why}`, {
      cause,
    });
    this.name = 'IncompleteWriteError';
    this.code = code;
  }
}

/**
 * Creates `temporary` (mode exactly `mode`) with `parts`, syncs it, renames it
 * to `final` and syncs the folder. Resolves only when all of it is durable;
 * otherwise rejects with IncompleteWriteError and removes both names.
 */
export async function writeFileDurably(
  temporary: string,
  final: string,
  parts: readonly Buffer[],
  mode: number,
): Promise<void> {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  let written = 0;
  try {
    const handle = await open(temporary, 'wx', mode);
    try {
      await handle.chmod(mode); // the mode asked for, whatever the umask
      for (const part of parts) {
        await writeFully(handle, part);
        written += part.length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, final);
    await fsyncFolder(dirname(final));
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    await rm(final, { force: true }).catch(() => {});
    throw new IncompleteWriteError(final, written, total, error);
  }
}

/** Writes a small file whose loss costs nothing (a note), with exactly `mode`. */
export async function writeSmallFile(path: string, text: string, mode: number): Promise<void> {
  const handle = await open(path, 'w', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}
