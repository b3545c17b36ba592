/**
 * Reads a write-ahead log segment into column arrays, incrementally: the
 * converter thread follows a segment while the application appends to it, so
 * that closing the segment leaves only the Parquet encoding to do. Runs in the
 * worker; synchronous file reads are fine there.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isoMicrosToEpochMicros } from '../../schema/timestamps.js';
import {
  createRowDecoder,
  emptyColumnArrays,
  parseBatchHeader,
  parseSegmentHeader,
  type ColumnArrays,
} from './wal-format.js';

const READ_CHUNK_BYTES = 8 * 1024 * 1024;
const NEWLINE = 0x0a;

export interface SegmentContents {
  readonly columns: ColumnArrays;
  readonly rows: number;
  /** Rows per Parquet file the segment was written for; undefined when it has no header yet (no rows). */
  readonly fileRows: number | undefined;
  /** Batches left out: cut short by a crash (never acknowledged), or damaged. */
  readonly droppedBatches: number;
  /** Why batches were left out, for the log. */
  readonly problems: readonly string[];
}

interface OpenBatch {
  /** File offset of the batch header line. */
  readonly offset: number;
  /** Row count of the columns before this batch. */
  readonly rowStart: number;
  readonly createdAtMicros: bigint;
  remaining: number;
  damaged: boolean;
}

export class SegmentReader {
  private fd: number | undefined;
  /** Bytes of the file consumed so far. */
  private readOffset = 0;
  /** The start of a line whose end has not been read yet. */
  private pending: Buffer = Buffer.alloc(0);
  private decode: ((line: string, createdAtMicros: bigint) => void) | undefined;
  private headerSeen = false;
  private fileRows: number | undefined;
  private readonly columns = emptyColumnArrays();
  /** Every batch read, complete or not: a rollback finds its row count here. */
  private readonly batches: { offset: number; rowStart: number }[] = [];
  private batch: OpenBatch | undefined;
  /** Set once a batch header cannot be read: nothing after it can be framed. */
  private unreadable = false;
  private droppedBatches = 0;
  private readonly problems: string[] = [];

  constructor(readonly path: string) {}

  /** Reads the segment up to byte `size`. A size below what was read means a failed append was cut off there. */
  readTo(size: number): void {
    if (size < this.readOffset) this.rollback(size);
    this.fd ??= openSync(this.path, 'r');
    while (this.readOffset < size && !this.unreadable) {
      const length = Math.min(size - this.readOffset, READ_CHUNK_BYTES);
      const chunk = Buffer.allocUnsafe(length);
      const read = readSync(this.fd, chunk, 0, length, this.readOffset);
      if (read === 0) break;
      this.consume(chunk.subarray(0, read), this.readOffset);
      this.readOffset += read;
    }
  }

  /** The columns read so far; rows past an acknowledged batch's end may still be cut back. */
  get columnArrays(): ColumnArrays {
    return this.columns;
  }

  /** Rows per Parquet file the segment's header asks for; undefined before the header is read. */
  get fileRowsOfHeader(): number | undefined {
    return this.fileRows;
  }

  /**
   * The rows read when the read stopped exactly at `size`, the end of an
   * acknowledged batch; undefined when it stopped elsewhere.
   */
  rowsAt(size: number): number | undefined {
    if (this.readOffset !== size || this.batch || this.pending.length > 0 || this.unreadable)
      return undefined;
    return (this.columns[0] as unknown[]).length;
  }

  /**
   * Reads up to `size` (the committed size the writer reports), or to the end
   * of the file for a segment left by a crash, and returns its complete batches.
   */
  finish(size?: number): SegmentContents {
    this.fd ??= openSync(this.path, 'r');
    this.readTo(size ?? fstatSync(this.fd).size);
    if (this.batch) {
      this.drop(this.batch, 'a batch was cut short (a write that never completed)');
      this.batch = undefined;
    }
    this.close();
    return {
      columns: this.columns,
      rows: (this.columns[0] as unknown[]).length,
      fileRows: this.fileRows,
      droppedBatches: this.droppedBatches,
      problems: this.problems,
    };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private consume(chunk: Buffer, chunkOffset: number): void {
    const bytes = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const bytesOffset = chunkOffset - this.pending.length;
    const complete = bytes.lastIndexOf(NEWLINE) + 1;
    // One decode per chunk (a newline byte always ends a whole UTF-8 character); lines are slices of it.
    const text = bytes.toString('utf8', 0, complete);
    let byteStart = 0;
    let charStart = 0;
    while (byteStart < complete && !this.unreadable) {
      const byteEnd = bytes.indexOf(NEWLINE, byteStart);
      const charEnd = text.indexOf('\n', charStart);
      this.line(text.slice(charStart, charEnd), bytesOffset + byteStart);
      byteStart = byteEnd + 1;
      charStart = charEnd + 1;
    }
    this.pending = Buffer.from(bytes.subarray(complete));
  }

  private line(text: string, offset: number): void {
    if (!this.headerSeen) {
      const header = parseSegmentHeader(text);
      this.decode = createRowDecoder(header, this.columns);
      this.fileRows = header.fileRows;
      this.headerSeen = true;
      return;
    }
    const batch = this.batch;
    if (!batch) {
      this.startBatch(text, offset);
      return;
    }
    if (!batch.damaged) {
      try {
        (this.decode as NonNullable<typeof this.decode>)(text, batch.createdAtMicros);
      } catch (error) {
        batch.damaged = true;
        this.problems.push(`a damaged row at byte ${offset}: ${(error as Error).message}`);
      }
    }
    batch.remaining -= 1;
    if (batch.remaining === 0) {
      if (batch.damaged) this.drop(batch);
      this.batch = undefined;
    }
  }

  private startBatch(text: string, offset: number): void {
    let rows: number;
    let createdAtMicros: bigint;
    try {
      const header = parseBatchHeader(text);
      rows = header.rows;
      createdAtMicros = isoMicrosToEpochMicros(header.createdAt);
    } catch (error) {
      this.unreadable = true;
      this.problems.push(
        `an unreadable batch header at byte ${offset}, the rest is skipped: ${(error as Error).message}`,
      );
      this.droppedBatches += 1;
      return;
    }
    const rowStart = (this.columns[0] as unknown[]).length;
    this.batches.push({ offset, rowStart });
    if (rows > 0) this.batch = { offset, rowStart, createdAtMicros, remaining: rows, damaged: false };
  }

  private drop(batch: OpenBatch, problem?: string): void {
    this.truncateRows(batch.rowStart);
    this.droppedBatches += 1;
    if (problem) this.problems.push(`${problem} at byte ${batch.offset}`);
  }

  /** Forgets every batch from byte `offset` on: the writer truncated a failed append there. */
  private rollback(offset: number): void {
    const first = this.batches.findIndex((batch) => batch.offset >= offset);
    if (first !== -1) {
      this.truncateRows((this.batches[first] as { rowStart: number }).rowStart);
      this.batches.length = first;
    }
    if (this.batch && this.batch.offset >= offset) this.batch = undefined;
    if (offset === 0) this.headerSeen = false;
    this.readOffset = offset;
    this.pending = Buffer.alloc(0);
    this.unreadable = false;
  }

  private truncateRows(rows: number): void {
    for (const column of this.columns) column.length = rows;
  }
}
