/**
 * Turns a segment's rows into Parquet files: each event once, one folder per
 * UTC date, at most the segment's `fileRows` rows per file, with names
 * derived from the segment: the files are a function of the segment alone, so
 * converting it again writes the same ones. They stay under temporary names
 * until the segment closes, then are renamed into place and the segment is
 * deleted, or, when it held damage, moved to the quarantine folder (kept for
 * a look; the rows that could be read are stored). Runs in the worker.
 */
import { existsSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { COLUMNS } from '../../schema/columns.js';
import { UNENDED_ERROR_TYPE } from '../../schema/unended-calls.js';
import {
  parseSegmentFileName,
  partFileName,
  partitionFolder,
  quarantineFolder,
  tempFileName,
  type Owner,
  type SegmentName,
} from './dataset-layout.js';
import { fsyncFolderSync } from '../durable-fs.js';
import { makeFoldersSync, type FileModes } from '../file-modes.js';
import { moveIntoPlace, TemporaryParquetFile } from './parquet-file.js';
import type { SegmentContents } from './segment-reader.js';
import type { ColumnArrays } from './wal-format.js';

export interface ConversionTarget {
  readonly dataset: string;
  readonly segmentPath: string;
  /** Owner of the temporary files: the process that asked for the conversion. */
  readonly owner: Owner;
  readonly modes: FileModes;
}

export interface ConversionResult {
  readonly rows: number;
  /** Files written, relative to the dataset folder. */
  readonly files: readonly string[];
  /** Files found already in place: an earlier attempt renamed them before it stopped. */
  readonly filesAlreadyThere: number;
  /** Rows whose event_id came earlier in the segment (a retried write); a span never ended's row and its real row count apart. */
  readonly duplicates: number;
  readonly droppedBatches: number;
  /** Rows of acknowledged batches lost to damage in the segment. */
  readonly lostRows: number;
  /** Where the segment went when it held damage; undefined when it was deleted. */
  readonly quarantinedTo: string | undefined;
  readonly problems: readonly string[];
}

const EVENT_ID = COLUMNS.findIndex((c) => c.name === 'event_id');
const TIMESTAMP = COLUMNS.findIndex((c) => c.name === 'timestamp');
const ERROR_TYPE = COLUMNS.findIndex((c) => c.name === 'error_type');
const MICROS_PER_DAY = 86_400_000_000n;
/**
 * Committed rows that make a row group while the segment fills: small enough
 * that closing a segment leaves little to encode, large enough that the
 * groups compress about as well as one big one.
 */
export const ROW_GROUP_ROWS_WHILE_FILLING = 8192;
/** Rows in the row groups after a file's first: hyparquet-writer's own largest. */
const LATER_ROW_GROUP_ROWS = 100_000;

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

function select(columns: ColumnArrays, rows: readonly number[], start: number, end: number): ColumnArrays {
  const whole = start === 0 && end === rows.length && rows.length === (columns[0] as unknown[]).length;
  if (whole) return columns;
  return columns.map((column) => {
    const out = new Array<unknown>(end - start);
    for (let i = start; i < end; i++) out[i - start] = column[rows[i] as number];
    return out;
  });
}

/** The file of one date taking rows now; `file` is undefined when an earlier attempt already renamed it. */
interface Part {
  readonly date: string;
  readonly index: number;
  /** Relative to the dataset folder. */
  readonly relative: string;
  readonly tempPath: string;
  readonly file: TemporaryParquetFile | undefined;
  rows: number;
}

/**
 * The conversion of one segment. The worker feeds it the segment's committed
 * rows as they arrive (`encodeCommitted`), so most row groups are encoded
 * while the segment still fills; `finish` encodes the rest, writes the
 * footers, renames the files into place and deletes the segment. Converting
 * a whole segment at once (a recovered one) is the same class fed once.
 */
export class SegmentConversion {
  private readonly segment: SegmentName;
  private readonly walFolder: string;
  private readonly fileRows: number;
  /**
   * Event ids already given to a file: a retried write's second copy is left out. The row of a
   * span never ended is keyed apart (schema/unended-calls.ts): the span's real row, should it end
   * after all, is kept beside it, as in the files of other segments.
   */
  private readonly seen = new Set<string>();
  private readonly dateCache = new Map<number, string>();
  /** Rows of the segment read so far, duplicates included. */
  private consumed = 0;
  private readonly open = new Map<string, Part>();
  private readonly completed: Part[] = [];

  constructor(
    private readonly target: ConversionTarget,
    fileRows: number | undefined,
  ) {
    const segmentFile = target.segmentPath.slice(dirname(target.segmentPath).length + 1);
    const segment = parseSegmentFileName(segmentFile);
    if (!segment) throw new Error(`${target.segmentPath} is not a write-ahead log segment name`);
    this.segment = segment;
    this.walFolder = dirname(target.segmentPath);
    this.fileRows = fileRows ?? Infinity;
  }

  /** Rows of the segment already encoded (or left out as duplicates). */
  get encodedRows(): number {
    return this.consumed;
  }

  /**
   * Encodes rows from where the last call stopped up to `rows` (rows of
   * acknowledged batches only: they are never cut back), once there are
   * enough of them for a row group.
   */
  encodeCommitted(columns: ColumnArrays, rows: number): void {
    if (rows - this.consumed >= ROW_GROUP_ROWS_WHILE_FILLING) this.encode(columns, rows);
  }

  /** Encodes what is left of `contents`, then makes its files visible and deletes the segment. */
  finish(contents: SegmentContents): ConversionResult {
    try {
      if (contents.rows < this.consumed) {
        throw new Error(
          `the segment holds ${contents.rows} rows, fewer than the ${this.consumed} already encoded`,
        );
      }
      this.encode(contents.columns, contents.rows);
      for (const part of [...this.open.values()]) this.complete(part);
      const files: string[] = [];
      let filesAlreadyThere = 0;
      const parts = this.completed.sort((a, b) =>
        a.date < b.date ? -1 : a.date > b.date ? 1 : a.index - b.index,
      );
      for (const part of parts) {
        const outcome = part.file
          ? moveIntoPlace(part.tempPath, join(this.target.dataset, part.relative), this.target.modes.folder)
          : 'already-there';
        if (outcome === 'written') files.push(part.relative);
        else filesAlreadyThere += 1;
      }
      this.completed.length = 0;
      // Only now may the segment go: every row it held is in a renamed, fsynced file.
      const quarantinedTo = contents.losses.length > 0 ? this.quarantine() : undefined;
      if (!quarantinedTo) unlinkSync(this.target.segmentPath);
      fsyncFolderSync(this.walFolder);
      return {
        rows: this.seen.size,
        files,
        filesAlreadyThere,
        duplicates: contents.rows - this.seen.size,
        droppedBatches: contents.droppedBatches,
        lostRows: contents.lostRows,
        quarantinedTo,
        problems: contents.problems,
      };
    } catch (error) {
      this.abandon();
      throw error;
    }
  }

  /** Moves the segment into the quarantine folder, durably; returns its new path. */
  private quarantine(): string {
    const folder = quarantineFolder(this.walFolder);
    makeFoldersSync(folder, this.target.modes.folder);
    const path = join(folder, basename(this.target.segmentPath));
    renameSync(this.target.segmentPath, path);
    fsyncFolderSync(folder);
    return path;
  }

  /** Deletes every temporary file not yet renamed; the segment stays for another conversion. */
  abandon(): void {
    for (const part of [...this.open.values(), ...this.completed]) part.file?.discard();
    this.open.clear();
    this.completed.length = 0;
  }

  /**
   * Gives rows [consumed, rows) to the files of their UTC dates, each event
   * once, then drops their values from `columns`: the worker holds only the
   * rows not yet encoded (a conversion that fails reads the segment again).
   */
  private encode(columns: ColumnArrays, rows: number): void {
    const from = this.consumed;
    const ids = columns[EVENT_ID] as string[];
    const timestamps = columns[TIMESTAMP] as bigint[];
    const errorTypes = columns[ERROR_TYPE] as (string | null | undefined)[];
    const byDate = new Map<string, number[]>();
    for (let row = this.consumed; row < rows; row++) {
      const id =
        errorTypes[row] === UNENDED_ERROR_TYPE ? `${ids[row]} ${UNENDED_ERROR_TYPE}` : (ids[row] as string);
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      const date = utcDate(timestamps[row] as bigint, this.dateCache);
      let group = byDate.get(date);
      if (!group) byDate.set(date, (group = []));
      group.push(row);
    }
    this.consumed = rows;
    for (const [date, dateRows] of byDate) {
      for (let start = 0; start < dateRows.length;) {
        const part = this.open.get(date) ?? this.openPart(date);
        const end = Math.min(dateRows.length, start + (this.fileRows - part.rows));
        part.file?.append(
          select(columns, dateRows, start, end),
          part.rows === 0 ? undefined : LATER_ROW_GROUP_ROWS,
        );
        part.rows += end - start;
        start = end;
        if (part.rows >= this.fileRows) this.complete(part);
      }
    }
    for (const column of columns) column.fill(undefined, from, rows);
  }

  private openPart(date: string): Part {
    const index = this.completed.filter((part) => part.date === date).length;
    const name = partFileName(this.segment, date, index);
    const relative = join(partitionFolder(date), name);
    const tempPath = join(this.walFolder, tempFileName(name, date, this.target.owner));
    // A crash after the rename but before the segment was deleted: that file is complete.
    const file = existsSync(join(this.target.dataset, relative))
      ? undefined
      : new TemporaryParquetFile(tempPath, this.target.modes.file);
    const part: Part = { date, index, relative, tempPath, file, rows: 0 };
    this.open.set(date, part);
    return part;
  }

  private complete(part: Part): void {
    this.open.delete(part.date);
    this.completed.push(part);
    part.file?.complete();
  }
}

/** Converts a whole segment at once: its files are a function of the segment alone. */
export function convertSegment(contents: SegmentContents, target: ConversionTarget): ConversionResult {
  return new SegmentConversion(target, contents.fileRows).finish(contents);
}
