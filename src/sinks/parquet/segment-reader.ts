/**
 * Reads a write-ahead log segment into column arrays, incrementally: the
 * converter thread follows a segment while the application appends to it, so
 * that closing the segment leaves only the Parquet encoding to do. Runs in the
 * worker; synchronous file reads are fine there.
 *
 * Damage costs only the batch it hits. A record whose frame header fails its
 * checksum is skipped up to the next frame that holds; a record whose payload
 * fails its checksum is skipped by its length; either way the batch it
 * belongs to is dropped, and the batches after it are read. A batch whose
 * records simply stop at the end of the file was cut short by a crash before
 * it was acknowledged: that is no damage. Version 1 segments (no frames) are
 * read by segment-reader-v1.ts.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isoMicrosToEpochMicros } from '../../schema/timestamps.js';
import { readLegacySegment } from './segment-reader-v1.js';
import {
  CURRENT_LAYOUT,
  createRowDecoder,
  emptyColumnArrays,
  parseBatchPayload,
  parseSegmentHeader,
  WAL_VERSION,
  type ColumnArrays,
} from './wal-format.js';
import {
  findFrame,
  FRAME_HEADER_BYTES,
  payloadIntact,
  readFrameHeader,
  RecordKind,
  type FrameHeader,
} from './wal-frames.js';

const READ_CHUNK_BYTES = 8 * 1024 * 1024;
const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;
const MAX_PROBLEMS = 20;

/** Rows of acknowledged batches that damage made unreadable, and where. */
export interface SegmentLoss {
  readonly offset: number;
  rows: number;
}

export interface SegmentContents {
  /** The segment format: 1 (unframed lines, earlier releases) or 2. */
  readonly version: number;
  readonly columns: ColumnArrays;
  readonly rows: number;
  /** Rows per Parquet file the segment was written for; undefined when its header is missing or damaged. */
  readonly fileRows: number | undefined;
  /** Batches left out: cut short by a crash (never acknowledged), or damaged. */
  readonly droppedBatches: number;
  /** Rows lost to damage (a count from the frames, or from the lines skipped where no frame held). */
  readonly lostRows: number;
  /** Each damaged place; none means the segment held no damage (a batch cut short is not damage). */
  readonly losses: readonly SegmentLoss[];
  /** Why batches were left out, for the log. */
  readonly problems: readonly string[];
}

interface OpenBatch {
  /** File offset of the batch header record. */
  readonly offset: number;
  readonly number: number;
  /** Row count of the columns before this batch. */
  readonly rowStart: number;
  readonly createdAtMicros: bigint;
  readonly announced: number;
  received: number;
  damaged: boolean;
}

export class SegmentReader {
  private fd: number | undefined;
  /** Undecided until the first bytes are read; version 1 segments are read whole by finish(). */
  private legacy: boolean | undefined;
  /** Bytes of the file read so far. */
  private readOffset = 0;
  /** Bytes read and not yet consumed: the start of a record whose end has not been read. */
  private pending: Buffer = Buffer.alloc(0);
  private decode: ((line: string, createdAtMicros: bigint) => void) | undefined;
  private fileRows: number | undefined;
  private readonly columns = emptyColumnArrays();
  /** Every batch begun, complete or not: a rollback finds its row count here. */
  private readonly batches: { offset: number; rowStart: number }[] = [];
  private batch: OpenBatch | undefined;
  /** Set after a frame header that did not hold: the bytes up to the next frame that does are skipped. */
  private resyncing: SegmentLoss | undefined;
  /** Bytes of the damaged frame's own header still to skip: binary, so a 0x0A in them is no row line. */
  private damagedHeaderBytes = 0;
  /** The batch number of rows records whose batch header was lost, and their loss. */
  private orphan: { number: number; loss: SegmentLoss } | undefined;
  private droppedBatches = 0;
  private readonly problems: string[] = [];
  private losses: SegmentLoss[] = [];

  constructor(readonly path: string) {}

  /** Reads the segment up to byte `size`. A size below what was read means a failed append was cut off there. */
  readTo(size: number): void {
    if (size < this.readOffset) this.rollback(size);
    this.fd ??= openSync(this.path, 'r');
    if (this.legacy === undefined) this.legacy = this.startsUnframed();
    if (this.legacy) return;
    while (this.readOffset < size) {
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

  /** Rows of the batches read whole so far (a live view shows these; the open batch's may still be cut back). */
  get completeRows(): number {
    return this.batch ? this.batch.rowStart : (this.columns[0] as unknown[]).length;
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
    if (this.legacy !== false || this.readOffset !== size) return undefined;
    if (this.batch || this.pending.length > 0 || this.resyncing) return undefined;
    return (this.columns[0] as unknown[]).length;
  }

  /**
   * Reads up to `size` (the committed size the writer reports), or to the end
   * of the file for a segment left by a crash, and returns its complete batches.
   */
  finish(size?: number): SegmentContents {
    this.fd ??= openSync(this.path, 'r');
    const end = size ?? fstatSync(this.fd).size;
    this.legacy ??= this.startsUnframed();
    if (this.legacy) {
      try {
        return readLegacySegment(this.fd, end);
      } finally {
        this.close();
      }
    }
    this.readTo(end);
    this.close();
    this.endOfFile();
    return {
      version: WAL_VERSION,
      columns: this.columns,
      rows: (this.columns[0] as unknown[]).length,
      fileRows: this.fileRows,
      droppedBatches: this.droppedBatches,
      lostRows: this.losses.reduce((sum, loss) => sum + loss.rows, 0),
      losses: this.losses,
      problems: this.problems,
    };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** True when the file starts as a version 1 segment (`{`, its header line). */
  private startsUnframed(): boolean {
    const first = Buffer.alloc(1);
    const read = readSync(this.fd as number, first, 0, 1, 0);
    return read === 1 && first[0] === OPEN_BRACE;
  }

  /** Consumes the records in `chunk` (read at file offset `chunkOffset`); keeps an unfinished one pending. */
  private consume(chunk: Buffer, chunkOffset: number): void {
    const bytes = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const base = chunkOffset - this.pending.length;
    let at = 0;
    for (;;) {
      if (this.resyncing) {
        const found = findFrame(bytes, at);
        // Nothing found yet: skip all but the last bytes, where a frame may begin.
        const stop = found === -1 ? Math.max(at, bytes.length - (FRAME_HEADER_BYTES - 1)) : found;
        this.skip(bytes, at, stop);
        at = stop;
        if (found === -1 || found + FRAME_HEADER_BYTES > bytes.length) break;
        this.resyncing = undefined;
      }
      if (bytes.length - at < FRAME_HEADER_BYTES) break;
      const header = readFrameHeader(bytes, at);
      if (!header) {
        this.frameDamaged(base + at);
        continue;
      }
      const end = at + FRAME_HEADER_BYTES + header.length;
      if (end > bytes.length) break; // the rest of the record is still to be read
      const payload = bytes.subarray(at + FRAME_HEADER_BYTES, end);
      if (payloadIntact(header, payload)) this.record(header, payload, base + at);
      else this.payloadDamaged(header, base + at);
      at = end;
    }
    this.pending = Buffer.from(bytes.subarray(at));
  }

  private record(header: FrameHeader, payload: Buffer, offset: number): void {
    switch (header.kind) {
      case RecordKind.segment: {
        if (this.decode) return; // a second header: the first one counts
        const segmentHeader = parseSegmentHeader(payload.toString('utf8')); // a version this release cannot read throws
        this.decode = createRowDecoder(segmentHeader, this.columns);
        this.fileRows = segmentHeader.fileRows;
        return;
      }
      case RecordKind.batch: {
        let createdAtMicros: bigint | undefined;
        let problem: string | undefined;
        try {
          createdAtMicros = isoMicrosToEpochMicros(parseBatchPayload(payload.toString('utf8')));
        } catch (error) {
          problem = (error as Error).message;
        }
        this.startBatch(header, offset, createdAtMicros ?? 0n);
        if (problem !== undefined)
          this.damageBatch(`a batch header that cannot be read (${problem})`, offset);
        return;
      }
      case RecordKind.rows:
        this.rows(header, payload, offset);
        return;
    }
  }

  private rows(header: FrameHeader, payload: Buffer, offset: number): void {
    const batch = this.batch;
    if (!batch || batch.number !== header.batch) {
      this.orphanRows(header, offset);
      return;
    }
    if (!batch.damaged) {
      const text = payload.toString('utf8');
      const decode = this.layout();
      let lines = 0;
      try {
        for (let start = 0; start < text.length; lines++) {
          const end = text.indexOf('\n', start);
          if (end === -1) throw new Error('a row line without its end');
          decode(text.slice(start, end), batch.createdAtMicros);
          start = end + 1;
        }
        if (lines !== header.rows) throw new Error(`${lines} row lines where the frame says ${header.rows}`);
      } catch (error) {
        this.damageBatch(`a damaged row (${(error as Error).message})`, offset);
      }
    }
    batch.received += header.rows;
    if (batch.received >= batch.announced) this.endBatch(batch);
  }

  private startBatch(header: FrameHeader, offset: number, createdAtMicros: bigint): void {
    this.closeOpenBatch(offset);
    this.orphan = undefined;
    const rowStart = (this.columns[0] as unknown[]).length;
    this.batches.push({ offset, rowStart });
    const batch: OpenBatch = {
      offset,
      number: header.batch,
      rowStart,
      createdAtMicros,
      announced: header.rows,
      received: 0,
      damaged: false,
    };
    this.batch = batch;
    if (batch.announced === 0) this.endBatch(batch);
  }

  private endBatch(batch: OpenBatch): void {
    this.batch = undefined;
    if (batch.received > batch.announced)
      this.damageBatch('more rows than its header announced', batch.offset, batch);
    if (batch.damaged) this.drop(batch);
  }

  /** A new batch begins, or rows of another batch arrive, while one is open: records of it went missing. */
  private closeOpenBatch(offset: number): void {
    const open = this.batch;
    if (!open) return;
    this.damageBatch(`records missing before byte ${offset}`, open.offset, open);
    this.endBatch(open);
  }

  /** Marks the open batch (or `batch`) damaged: its rows are lost, those after it are read on. */
  private damageBatch(problem: string, offset: number, batch = this.batch): void {
    if (!batch || batch.damaged) return;
    batch.damaged = true;
    this.problem(`${problem} at byte ${offset}: the batch at byte ${batch.offset} is lost`);
  }

  private drop(batch: OpenBatch): void {
    this.truncateRows(batch.rowStart);
    this.droppedBatches += 1;
    this.losses.push({ offset: batch.offset, rows: batch.announced });
  }

  /** Rows whose batch header was lost to damage: counted as lost, never stored without their batch. */
  private orphanRows(header: FrameHeader, offset: number): void {
    this.closeOpenBatch(offset);
    if (this.orphan?.number !== header.batch) {
      const loss = { offset, rows: 0 };
      this.orphan = { number: header.batch, loss };
      this.losses.push(loss);
      this.droppedBatches += 1;
      this.problem(`rows at byte ${offset} whose batch header is damaged: their batch is lost`);
    }
    this.orphan.loss.rows += header.rows;
  }

  /** A frame header that does not hold: look for the next one that does. */
  private frameDamaged(offset: number): void {
    this.problem(`a damaged record at byte ${offset}: skipped to the next intact one`);
    this.damageBatch('a damaged record', offset);
    // The lines skipped count as lost rows only where no intact batch header counts them.
    this.resyncing = { offset, rows: 0 };
    this.damagedHeaderBytes = FRAME_HEADER_BYTES;
    if (!this.batch) this.losses.push(this.resyncing);
  }

  /** An intact frame around a damaged payload: skipped by its length. */
  private payloadDamaged(header: FrameHeader, offset: number): void {
    this.problem(`a record whose content is damaged at byte ${offset}: skipped`);
    if (header.kind === RecordKind.segment) {
      this.losses.push({ offset, rows: 0 }); // the layout of this release is used instead
      return;
    }
    if (header.kind === RecordKind.batch) {
      this.startBatch(header, offset, 0n);
      this.damageBatch('a damaged batch header', offset);
      return;
    }
    const batch = this.batch;
    if (!batch || batch.number !== header.batch) {
      this.orphanRows(header, offset);
      return;
    }
    this.damageBatch('a damaged row', offset);
    batch.received += header.rows;
    if (batch.received >= batch.announced) this.endBatch(batch);
  }

  /** Skips `bytes[from, to)` while resynchronising, counting the row lines in it as lost where no batch does. */
  private skip(bytes: Buffer, from: number, to: number): void {
    const loss = this.resyncing;
    if (!loss || this.batch || from >= to) return;
    const binary = Math.min(this.damagedHeaderBytes, to - from);
    this.damagedHeaderBytes -= binary;
    from += binary;
    for (let at = bytes.indexOf(NEWLINE, from); at !== -1 && at < to; at = bytes.indexOf(NEWLINE, at + 1)) {
      loss.rows += 1;
    }
  }

  /** Notes why rows were left out; a segment damaged all over gives a few lines, not thousands. */
  private problem(text: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(text);
    else if (this.problems.length === MAX_PROBLEMS) this.problems.push('and more problems after these');
  }

  /** The row decoder; the layout of this release when the segment header was lost. */
  private layout(): (line: string, createdAtMicros: bigint) => void {
    if (!this.decode) {
      this.problem("the segment's header is damaged: its rows are read with this release's columns");
      this.decode = createRowDecoder(CURRENT_LAYOUT, this.columns);
    }
    return this.decode;
  }

  /** What is left at the end of the file: a batch cut short, or damage that reaches the end. */
  private endOfFile(): void {
    if (this.resyncing) {
      this.skip(this.pending, 0, this.pending.length);
      this.resyncing = undefined;
    }
    const batch = this.batch;
    this.batch = undefined;
    if (!batch) return;
    if (batch.damaged) {
      this.drop(batch);
      return;
    }
    this.truncateRows(batch.rowStart);
    this.droppedBatches += 1;
    this.problem(`a batch was cut short (a write that never completed) at byte ${batch.offset}`);
  }

  /** Forgets every batch from byte `offset` on: the writer truncated a failed append there. */
  private rollback(offset: number): void {
    const first = this.batches.findIndex((batch) => batch.offset >= offset);
    if (first !== -1) {
      this.truncateRows((this.batches[first] as { rowStart: number }).rowStart);
      this.batches.length = first;
    }
    if (this.batch && this.batch.offset >= offset) this.batch = undefined;
    if (offset === 0) {
      this.decode = undefined;
      this.legacy = undefined;
    }
    this.losses = this.losses.filter((loss) => loss.offset < offset);
    this.readOffset = offset;
    this.pending = Buffer.alloc(0);
    this.resyncing = undefined;
    this.orphan = undefined;
  }

  private truncateRows(rows: number): void {
    for (const column of this.columns) column.length = rows;
  }
}
