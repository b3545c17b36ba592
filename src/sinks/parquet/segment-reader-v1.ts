/**
 * Reads a version 1 segment (unframed lines, written by releases before
 * frames), so that what an earlier release left is still recovered. Such a
 * segment is only ever read whole, by recovery. A batch header that cannot be
 * read no longer ends the reading: the lines up to the next batch header that
 * can be read are lost, and the batches after it are kept.
 */
import { fstatSync, readSync } from 'node:fs';
import { isoMicrosToEpochMicros } from '../../schema/timestamps.js';
import type { SegmentContents, SegmentLoss } from './segment-reader.js';
import {
  createRowDecoder,
  emptyColumnArrays,
  parseBatchHeader,
  parseSegmentHeader,
  type BatchHeader,
} from './wal-format.js';

const READ_CHUNK_BYTES = 8 * 1024 * 1024;
const NEWLINE = 0x0a;

interface OpenBatch {
  /** File offset of the batch header line. */
  readonly offset: number;
  /** Row count of the columns before this batch. */
  readonly rowStart: number;
  readonly rows: number;
  readonly createdAtMicros: bigint;
  remaining: number;
  damaged: boolean;
}

class LegacySegmentReader {
  /** The start of a line whose end has not been read yet. */
  private pending: Buffer = Buffer.alloc(0);
  private decode: ((line: string, createdAtMicros: bigint) => void) | undefined;
  private headerSeen = false;
  private fileRows: number | undefined;
  private readonly columns = emptyColumnArrays();
  private batch: OpenBatch | undefined;
  /** Set after a batch header that cannot be read: lines are skipped until one that can. */
  private resyncing: SegmentLoss | undefined;
  private droppedBatches = 0;
  private readonly problems: string[] = [];
  private readonly losses: SegmentLoss[] = [];

  read(fd: number, size: number): SegmentContents {
    for (let offset = 0; offset < size;) {
      const length = Math.min(size - offset, READ_CHUNK_BYTES);
      const chunk = Buffer.allocUnsafe(length);
      const read = readSync(fd, chunk, 0, length, offset);
      if (read === 0) break;
      this.consume(chunk.subarray(0, read), offset);
      offset += read;
    }
    if (this.batch) {
      if (this.batch.damaged) this.lose(this.batch, this.batch.rows, 'a damaged row');
      else this.cutShort(this.batch);
      this.batch = undefined;
    }
    return {
      version: 1,
      columns: this.columns,
      rows: (this.columns[0] as unknown[]).length,
      fileRows: this.fileRows,
      droppedBatches: this.droppedBatches,
      lostRows: this.losses.reduce((sum, loss) => sum + loss.rows, 0),
      losses: this.losses,
      problems: this.problems,
    };
  }

  private consume(chunk: Buffer, chunkOffset: number): void {
    const bytes = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const bytesOffset = chunkOffset - this.pending.length;
    const complete = bytes.lastIndexOf(NEWLINE) + 1;
    // One decode per chunk (a newline byte always ends a whole UTF-8 character); lines are slices of it.
    const text = bytes.toString('utf8', 0, complete);
    let byteStart = 0;
    let charStart = 0;
    while (byteStart < complete) {
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
      if (batch.damaged) this.lose(batch, batch.rows, 'a damaged row');
      this.batch = undefined;
    }
  }

  private startBatch(text: string, offset: number): void {
    let header: BatchHeader;
    let createdAtMicros: bigint;
    try {
      header = parseBatchHeader(text);
      createdAtMicros = isoMicrosToEpochMicros(header.createdAt);
    } catch (error) {
      if (this.resyncing) {
        this.resyncing.rows += 1; // a row of the batch whose header was lost
        return;
      }
      this.droppedBatches += 1;
      this.problems.push(`an unreadable batch header at byte ${offset}: ${(error as Error).message}`);
      this.resyncing = { offset, rows: 0 };
      this.losses.push(this.resyncing);
      return;
    }
    this.resyncing = undefined;
    const rowStart = (this.columns[0] as unknown[]).length;
    if (header.rows > 0) {
      this.batch = {
        offset,
        rowStart,
        rows: header.rows,
        createdAtMicros,
        remaining: header.rows,
        damaged: false,
      };
    }
  }

  private lose(batch: OpenBatch, rows: number, why: string): void {
    this.truncateRows(batch.rowStart);
    this.droppedBatches += 1;
    this.losses.push({ offset: batch.offset, rows });
    this.problems.push(`${why}: the ${rows} rows of the batch at byte ${batch.offset} are lost`);
  }

  private cutShort(batch: OpenBatch): void {
    this.truncateRows(batch.rowStart);
    this.droppedBatches += 1;
    this.problems.push(`a batch was cut short (a write that never completed) at byte ${batch.offset}`);
  }

  private truncateRows(rows: number): void {
    for (const column of this.columns) column.length = rows;
  }
}

/** The rows of a version 1 segment, read from `fd` up to `size` bytes (the whole file when undefined). */
export function readLegacySegment(fd: number, size?: number): SegmentContents {
  return new LegacySegmentReader().read(fd, size ?? fstatSync(fd).size);
}
