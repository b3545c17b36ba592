/**
 * Turns the rows read from one closed segment into Parquet files: each event
 * once, one folder per UTC date, at most the segment's `fileRows` rows per
 * file, with names derived from the segment: the files are a function of the
 * segment alone, so converting it again writes the same ones. Then deletes the
 * segment. Runs in the worker.
 */
import { unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { COLUMNS } from '../../schema/columns.js';
import {
  parseSegmentFileName,
  partFileName,
  partitionFolder,
  tempFileName,
  type Owner,
} from './dataset-layout.js';
import { fsyncFolderSync } from './durable-fs.js';
import { writeParquetFileAtomically } from './parquet-file.js';
import type { SegmentContents } from './segment-reader.js';
import type { ColumnArrays } from './wal-format.js';

export interface ConversionTarget {
  readonly dataset: string;
  readonly segmentPath: string;
  /** Owner of the temporary files: the process that asked for the conversion. */
  readonly owner: Owner;
}

export interface ConversionResult {
  readonly rows: number;
  /** Files written, relative to the dataset folder. */
  readonly files: readonly string[];
  /** Files found already in place: an earlier attempt renamed them before it stopped. */
  readonly filesAlreadyThere: number;
  /** Rows whose event_id came earlier in the segment (a retried write). */
  readonly duplicates: number;
  readonly droppedBatches: number;
  readonly problems: readonly string[];
}

const EVENT_ID = COLUMNS.findIndex((c) => c.name === 'event_id');
const TIMESTAMP = COLUMNS.findIndex((c) => c.name === 'timestamp');
const MICROS_PER_DAY = 86_400_000_000n;

/** Row positions of each event's first occurrence. */
function firstOccurrences(columns: ColumnArrays): number[] {
  const ids = columns[EVENT_ID] as string[];
  const seen = new Set<string>();
  const keep: number[] = [];
  for (let row = 0; row < ids.length; row++) {
    const id = ids[row] as string;
    if (seen.has(id)) continue;
    seen.add(id);
    keep.push(row);
  }
  return keep;
}

/** `2026-01-02` of a TIMESTAMP(MICROS) value, in UTC. */
function utcDate(micros: bigint, cache: Map<number, string>): string {
  const day = Number(micros / MICROS_PER_DAY) - (micros < 0n && micros % MICROS_PER_DAY !== 0n ? 1 : 0);
  let date = cache.get(day);
  if (date === undefined) {
    date = new Date(day * 86_400_000).toISOString().slice(0, 10);
    cache.set(day, date);
  }
  return date;
}

/** Rows (positions) per UTC date, dates in order. */
function rowsByDate(columns: ColumnArrays, rows: readonly number[]): [string, number[]][] {
  const timestamps = columns[TIMESTAMP] as bigint[];
  const cache = new Map<number, string>();
  const groups = new Map<string, number[]>();
  for (const row of rows) {
    const date = utcDate(timestamps[row] as bigint, cache);
    let group = groups.get(date);
    if (!group) groups.set(date, (group = []));
    group.push(row);
  }
  return [...groups].sort(([a], [b]) => (a < b ? -1 : 1));
}

function select(columns: ColumnArrays, rows: readonly number[], start: number, end: number): ColumnArrays {
  const whole = start === 0 && end === rows.length && rows.length === (columns[0] as unknown[]).length;
  if (whole) return columns;
  return columns.map((column) => {
    const out = new Array<unknown>(end - start);
    for (let i = start; i < end; i++) out[i - start] = column[rows[i] as number];
    return out;
  });
}

export function convertSegment(contents: SegmentContents, target: ConversionTarget): ConversionResult {
  const segmentFile = target.segmentPath.slice(dirname(target.segmentPath).length + 1);
  const segment = parseSegmentFileName(segmentFile);
  if (!segment) throw new Error(`${target.segmentPath} is not a write-ahead log segment name`);
  const walFolder = dirname(target.segmentPath);
  const keep = firstOccurrences(contents.columns);
  const fileRows = contents.fileRows ?? Infinity;
  const files: string[] = [];
  let filesAlreadyThere = 0;
  for (const [date, rows] of rowsByDate(contents.columns, keep)) {
    for (let start = 0, index = 0; start < rows.length; start += fileRows, index++) {
      const end = Math.min(start + fileRows, rows.length);
      const name = partFileName(segment, date, index);
      const relative = join(partitionFolder(date), name);
      const outcome = writeParquetFileAtomically({
        finalPath: join(target.dataset, relative),
        tempPath: join(walFolder, tempFileName(name, date, target.owner)),
        columns: select(contents.columns, rows, start, end),
      });
      if (outcome === 'written') files.push(relative);
      else filesAlreadyThere += 1;
    }
  }
  // Only now may the segment go: every row it held is in a renamed, fsynced file.
  unlinkSync(target.segmentPath);
  fsyncFolderSync(walFolder);
  return {
    rows: keep.length,
    files,
    filesAlreadyThere,
    duplicates: contents.rows - keep.length,
    droppedBatches: contents.droppedBatches,
    problems: contents.problems,
  };
}
