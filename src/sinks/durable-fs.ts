/**
 * Durable file system steps shared by the spill and the Parquet sink. A rename
 * or a new file survives a power cut only once its folder is fsynced too.
 * Linux and macOS can fsync a folder; Windows cannot open one, and its NTFS
 * journal makes the step unnecessary there. A write may take fewer bytes than
 * it was given (a disk filling up): writeFully goes on until every byte is out.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Writes all of `bytes`, at `position` or at the file's current end, looping on short writes. */
export async function writeFully(handle: FileHandle, bytes: Buffer, position?: number): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    const at = position === undefined ? null : position + written;
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, at);
    // A write that takes nothing and reports no error would loop forever: a full disk that said nothing.
    if (bytesWritten <= 0) throw Object.assign(new Error('the write took no bytes'), { code: 'ENOSPC' });
    written += bytesWritten;
  }
}

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
