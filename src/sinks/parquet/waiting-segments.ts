/**
 * What waits in a dataset's WAL folder: segments whose rows are durable but
 * not yet in Parquet files, whose they are, and since when; and damaged
 * segments set aside. For `llamonitor doctor`: it reads, and changes nothing.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OwnerLeases, type OwnerState } from '../process-owner.js';
import { datasetFolder, quarantineFolder, walFolder } from './dataset-layout.js';
import { segmentsIn } from './recovery.js';
import { readLegacySegment } from './segment-reader-v1.js';
import { FRAME_HEADER_BYTES, readFrameHeader, RecordKind } from './wal-frames.js';

export interface WaitingOwner {
  readonly host: string;
  readonly pid: number;
  /** `alive`: a running process writes them; `dead`: the next start converts them; `other-host`: see `llamonitor recover`. */
  readonly state: OwnerState;
  readonly segments: number;
  readonly rows: number;
}

export interface WaitingSegments {
  readonly wal: string;
  readonly segments: number;
  /** Rows of the acknowledged batches in them. */
  readonly rows: number;
  /** When the oldest of them was begun (ISO 8601); undefined when none waits. */
  readonly oldest: string | undefined;
  readonly owners: readonly WaitingOwner[];
  /** Damaged segments moved aside after their intact rows were stored. */
  readonly quarantined: number;
}

const OPEN_BRACE = 0x7b;

/** `20260102T030405123Z` to `2026-01-02T03:04:05.123Z`. */
function isoOfCompactTime(time: string): string {
  return `${time.slice(0, 4)}-${time.slice(4, 6)}-${time.slice(6, 8)}T${time.slice(9, 11)}:${time.slice(11, 13)}:${time.slice(13, 15)}.${time.slice(15, 18)}Z`;
}

/**
 * Rows of the complete batches of a segment, from its frame headers alone
 * (payloads are not read); the count stops at the first damaged frame.
 */
export function acknowledgedRows(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    if (readSync(fd, header, 0, 1, 0) === 1 && header[0] === OPEN_BRACE)
      return readLegacySegment(fd, size).rows;
    let rows = 0;
    let open: { number: number; announced: number; received: number } | undefined;
    for (let at = 0; at + FRAME_HEADER_BYTES <= size;) {
      readSync(fd, header, 0, FRAME_HEADER_BYTES, at);
      const frame = readFrameHeader(header, 0);
      if (!frame) break;
      at += FRAME_HEADER_BYTES + frame.length;
      if (at > size) break;
      if (frame.kind === RecordKind.batch) open = { number: frame.batch, announced: frame.rows, received: 0 };
      else if (frame.kind === RecordKind.rows && open?.number === frame.batch) open.received += frame.rows;
      if (open && open.received >= open.announced) {
        rows += open.announced;
        open = undefined;
      }
    }
    return rows;
  } finally {
    closeSync(fd);
  }
}

async function countEntries(folder: string): Promise<number> {
  try {
    return (await readdir(folder)).length;
  } catch {
    return 0;
  }
}

/** The segments waiting in `<directory>/<table>/_wal`. */
export async function describeWaitingSegments(directory: string, table: string): Promise<WaitingSegments> {
  const wal = walFolder(datasetFolder(directory, table));
  const leases = new OwnerLeases(wal);
  let found: Awaited<ReturnType<typeof segmentsIn>>;
  try {
    found = await segmentsIn(wal, leases);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    found = [];
  }
  const owners = new Map<string, WaitingOwner>();
  let rows = 0;
  for (const { name, segment, state } of found) {
    let segmentRows = 0;
    try {
      segmentRows = acknowledgedRows(join(wal, name));
    } catch {
      // converted and deleted meanwhile: it no longer waits
    }
    rows += segmentRows;
    const key = `${segment.owner.host}~${segment.owner.pid}~${segment.owner.token}`;
    const owner = owners.get(key) ?? {
      host: segment.owner.host,
      pid: segment.owner.pid,
      state,
      segments: 0,
      rows: 0,
    };
    owners.set(key, { ...owner, segments: owner.segments + 1, rows: owner.rows + segmentRows });
  }
  return {
    wal,
    segments: found.length,
    rows,
    oldest: found[0] ? isoOfCompactTime(found[0].segment.time) : undefined,
    owners: [...owners.values()],
    quarantined: await countEntries(quarantineFolder(wal)),
  };
}
