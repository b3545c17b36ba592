/**
 * A rename or a new file survives a power cut only once its folder is
 * fsynced too. Linux and macOS can fsync a folder; Windows cannot open one,
 * and its NTFS journal makes the step unnecessary there.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';

const canSyncFolders = process.platform !== 'win32';

export function fsyncFolderSync(path: string): void {
  if (!canSyncFolders) return;
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function fsyncFolder(path: string): Promise<void> {
  if (!canSyncFolders) return;
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
