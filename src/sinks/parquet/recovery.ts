/**
 * Finds what crashed processes left in a dataset's WAL folder: segments
 * whose rows were acknowledged but not yet converted, and half-written
 * temporary Parquet files. Only leftovers of processes that are gone are
 * touched; a live process writing the same dataset keeps its own.
 */
import { readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSegmentFileName, parseTempFileOwner, segmentFileName, type Owner } from './dataset-layout.js';

/**
 * True when `owner`'s process has ended. A process on another host cannot be
 * checked from here: it counts as alive, and a process of its own host
 * recovers its segments.
 */
export function isOwnerGone(owner: Owner, self: Owner): boolean {
  if (owner.host !== self.host) return false;
  // Same pid: another thread of this process (a worker thread has globals, and so a token, of its own),
  // or a dead process whose pid we got; never ours to take: a later start with another pid recovers it.
  if (owner.pid === self.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Segment file names left by ended processes, oldest first. */
export async function abandonedSegments(walFolder: string, self: Owner): Promise<string[]> {
  const names = await readdir(walFolder);
  return names
    .filter((name) => {
      const segment = parseSegmentFileName(name);
      return segment !== undefined && isOwnerGone(segment.owner, self);
    })
    .sort();
}

/**
 * Makes an abandoned segment this process's own by renaming it (atomic: of two
 * processes recovering at once, one wins). Returns its new path, or undefined
 * when another process claimed it first.
 */
export async function claimSegment(
  walFolder: string,
  name: string,
  self: Owner,
): Promise<string | undefined> {
  const segment = parseSegmentFileName(name);
  if (!segment) return undefined;
  const claimed = join(walFolder, segmentFileName({ ...segment, owner: self }));
  try {
    await rename(join(walFolder, name), claimed);
    return claimed;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Deletes temporary Parquet files of ended processes: never renamed, so never seen by a reader. */
export async function removeAbandonedTempFiles(walFolder: string, self: Owner): Promise<number> {
  let removed = 0;
  for (const name of await readdir(walFolder)) {
    const owner = parseTempFileOwner(name);
    if (!owner || !isOwnerGone(owner, self)) continue;
    await unlink(join(walFolder, name)).catch(() => undefined);
    removed += 1;
  }
  return removed;
}
