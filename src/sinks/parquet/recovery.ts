/**
 * Finds what ended processes left in a dataset's WAL folder: segments whose
 * rows were acknowledged but not yet converted, half-written temporary
 * Parquet files, and leases. Only leftovers of processes that are gone are
 * touched (process-owner.ts says which are); a live process writing the same
 * dataset keeps its own. What a process of another host left is taken only
 * when asked (`llamonitor recover`), and then only when that process's lease
 * is missing or stale.
 */
import { readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { leaseIsFresh, type OwnerLeases, type OwnerState } from '../process-owner.js';
import {
  parseSegmentFileName,
  parseTempFileOwner,
  segmentFileName,
  type Owner,
  type SegmentName,
} from './dataset-layout.js';

export interface RecoveryScope {
  /** Also take what processes of other hosts left, when their lease is missing or stale. */
  readonly otherHosts: boolean;
}

export interface SegmentOnDisk {
  readonly name: string;
  readonly segment: SegmentName;
  readonly state: OwnerState;
}

/** Every segment in the WAL folder, oldest first, with the state of its owner. */
export async function segmentsIn(wal: string, leases: OwnerLeases): Promise<SegmentOnDisk[]> {
  const found: SegmentOnDisk[] = [];
  for (const name of (await readdir(wal)).sort()) {
    const segment = parseSegmentFileName(name);
    if (segment) found.push({ name, segment, state: await leases.stateOf(segment.owner) });
  }
  return found;
}

async function mayTake(state: OwnerState, owner: Owner, wal: string, scope: RecoveryScope): Promise<boolean> {
  if (state === 'dead') return true;
  return state === 'other-host' && scope.otherHosts && !(await leaseIsFresh(wal, owner));
}

/** Segment file names that may be recovered, oldest first. */
export async function abandonedSegments(
  wal: string,
  leases: OwnerLeases,
  scope: RecoveryScope,
): Promise<string[]> {
  const names: string[] = [];
  for (const { name, segment, state } of await segmentsIn(wal, leases)) {
    if (await mayTake(state, segment.owner, wal, scope)) names.push(name);
  }
  return names;
}

/**
 * Makes an abandoned segment this process's own by renaming it (atomic: of two
 * processes recovering at once, one wins). Returns its new path, or undefined
 * when another process claimed it first.
 */
export async function claimSegment(wal: string, name: string, self: Owner): Promise<string | undefined> {
  const segment = parseSegmentFileName(name);
  if (!segment) return undefined;
  const claimed = join(wal, segmentFileName({ ...segment, owner: self }));
  try {
    await rename(join(wal, name), claimed);
    return claimed;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Deletes temporary Parquet files of ended processes: never renamed, so never seen by a reader. */
export async function removeAbandonedTempFiles(
  wal: string,
  leases: OwnerLeases,
  scope: RecoveryScope,
): Promise<number> {
  let removed = 0;
  for (const name of await readdir(wal)) {
    const owner = parseTempFileOwner(name);
    if (!owner || !(await mayTake(await leases.stateOf(owner), owner, wal, scope))) continue;
    await unlink(join(wal, name)).catch(() => undefined);
    removed += 1;
  }
  return removed;
}

const LEASE_FILE = /^\.owner-([A-Za-z0-9-]+)~(\d+)$/;

/**
 * Deletes the leases of ended processes (of other hosts too, in scope), which
 * nothing refreshes or removes any more; a lease stays while a file of its
 * owner is left (the lease is what tells that owner dead).
 */
export async function removeDeadLeases(
  wal: string,
  leases: OwnerLeases,
  scope: RecoveryScope,
): Promise<void> {
  const names = await readdir(wal);
  const owners = new Set(
    names
      .map((name) => parseSegmentFileName(name)?.owner ?? parseTempFileOwner(name))
      .filter((owner) => owner !== undefined)
      .map((owner) => `${owner.host}~${owner.pid}`),
  );
  for (const name of names) {
    const match = LEASE_FILE.exec(name);
    if (!match || owners.has(`${match[1]}~${match[2]}`)) continue;
    const token = await readFile(join(wal, name), 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    );
    if (token === undefined) continue;
    const owner = { host: match[1] as string, pid: Number(match[2]), token };
    if (await mayTake(await leases.stateOf(owner), owner, wal, scope))
      await rm(join(wal, name), { force: true });
  }
}
