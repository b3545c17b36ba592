/**
 * Appends batches to one write-ahead log segment on the application's
 * thread. The work per call stays small whatever the batch size: rows are
 * serialised in slices of a few milliseconds, each a framed record handed to
 * the file system (off the thread) before the next is built, and one
 * fdatasync makes the batch durable. A failed append is cut back off the file.
 */
import { statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { MetricEvent } from '../../schema/columns.js';
import { segmentFileName, type SegmentName } from './dataset-layout.js';
import { fsyncFolder, writeFully } from '../durable-fs.js';
import { batchHeaderPayload, encodeRowLine, segmentHeaderPayload } from './wal-format.js';
import { FRAME_HEADER_BYTES, frameRecord, RecordKind, writeFrameHeader } from './wal-frames.js';

/** Time one slice of serialisation may take before the thread is given back. */
const SLICE_MILLIS = 4;
/** Rows serialised between two looks at the clock. */
const ROWS_PER_CLOCK_CHECK = 32;

/**
 * The records of one slice, in a buffer reused from slice to slice: no new
 * Buffer, and no long string to flatten, per slice. A record's frame header
 * is filled in once its payload is complete.
 */
class RecordBuffer {
  private bytes = Buffer.allocUnsafe(1024 * 1024);
  private length = 0;
  private recordStart = -1;

  begin(): void {
    this.recordStart = this.length;
    this.reserve(FRAME_HEADER_BYTES);
    this.length += FRAME_HEADER_BYTES;
  }

  append(text: string): void {
    this.reserve(text.length * 3); // UTF-8 needs at most 3 bytes per UTF-16 unit
    this.length += this.bytes.write(text, this.length);
  }

  end(kind: RecordKind, batch: number, rows: number): void {
    writeFrameHeader(this.bytes, this.recordStart, { kind, batch, rows }, this.length);
    this.recordStart = -1;
  }

  /** The slice's bytes; valid until the next append. */
  take(): Buffer {
    const view = this.bytes.subarray(0, this.length);
    this.length = 0;
    this.recordStart = -1;
    return view;
  }

  private reserve(bytes: number): void {
    const most = this.length + bytes;
    if (most <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(most, this.bytes.length * 2));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
}

/** The segment's file is no longer at its path (its folder was moved or deleted): its rows are not in the dataset. */
export class SegmentMovedError extends Error {
  readonly code = 'ESEGMENTMOVED';
  constructor(readonly path: string) {
    super(`the write-ahead log segment ${path} was moved or deleted while open`);
    this.name = 'SegmentMovedError';
  }
}

export class SegmentWriter {
  /** Rows in acknowledged batches. */
  rows = 0;
  /** Bytes holding the header and acknowledged batches. */
  committedBytes: number;
  /** False once an append failed: the segment takes no more batches. */
  usable = true;
  /** Batches appended, acknowledged or not: the next batch's number is one more. */
  private batches = 0;
  private readonly slice = new RecordBuffer();

  private constructor(
    readonly path: string,
    readonly name: SegmentName,
    private readonly handle: FileHandle,
    headerBytes: number,
    /** The open file's identity, which never changes: the path is compared with it after each append. */
    private readonly held: { readonly ino: number; readonly dev: number },
  ) {
    this.committedBytes = headerBytes;
  }

  /** Creates the segment file (mode `fileMode`) with its header, durably (file and folder entry). */
  static async create(
    walFolder: string,
    name: SegmentName,
    fileRows: number,
    fileMode: number,
  ): Promise<SegmentWriter> {
    const path = join(walFolder, segmentFileName(name));
    const handle = await open(path, 'wx', fileMode);
    try {
      await handle.chmod(fileMode); // the mode asked for, whatever the umask
      const header = frameRecord(
        { kind: RecordKind.segment, batch: 0, rows: 0 },
        segmentHeaderPayload(fileRows),
      );
      await writeFully(handle, header, 0);
      await handle.sync();
      await fsyncFolder(walFolder);
      const { ino, dev } = await handle.stat();
      return new SegmentWriter(path, name, handle, header.length, { ino, dev });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Appends batches, each with its own header, and resolves once they are on
   * disk: one fdatasync for all of them (exports that arrive together share
   * it). `onProgress` hears the size after each slice, so the converter can
   * read ahead, and once more, `committed`, when the batches are durable: from
   * then on they are never cut back. On failure every one of them is cut back.
   * A segment found moved or deleted once they are durable fails with
   * SegmentMovedError: durable there, the rows are not in the dataset.
   */
  async append(
    batches: readonly (readonly MetricEvent[])[],
    createdAt: string,
    onProgress: (size: number, committed: boolean) => void,
  ): Promise<void> {
    if (!this.usable) throw new Error(`segment ${this.path} is closed after a failed write`);
    const start = this.committedBytes;
    let position = start;
    let rowCount = 0;
    try {
      for (const rows of batches) {
        const batch = ++this.batches;
        this.slice.begin();
        this.slice.append(batchHeaderPayload(createdAt));
        this.slice.end(RecordKind.batch, batch, rows.length);
        let next = 0;
        do {
          const began = performance.now();
          const first = next;
          this.slice.begin();
          while (next < rows.length && performance.now() - began < SLICE_MILLIS) {
            const end = Math.min(next + ROWS_PER_CLOCK_CHECK, rows.length);
            for (; next < end; next++) this.slice.append(encodeRowLine(rows[next] as MetricEvent));
          }
          this.slice.end(RecordKind.rows, batch, next - first);
          const bytes = this.slice.take();
          await writeFully(this.handle, bytes, position);
          position += bytes.length;
          onProgress(position, false);
        } while (next < rows.length);
        rowCount += rows.length;
      }
      await this.handle.datasync();
      this.checkInPlace();
    } catch (error) {
      this.usable = false;
      this.slice.take();
      await this.handle.truncate(start).catch(() => undefined); // the reader ignores an unfinished batch anyway
      throw error;
    }
    this.committedBytes = position;
    this.rows += rowCount;
    onProgress(position, true);
  }

  async close(): Promise<void> {
    this.usable = false;
    await this.handle.close();
  }

  /**
   * Throws SegmentMovedError when the path no longer names the file this
   * writer holds open. One stat call of a few microseconds: done in place,
   * cheaper than a trip through the thread pool.
   */
  private checkInPlace(): void {
    const named = statSync(this.path, { throwIfNoEntry: false });
    if (!named || named.ino !== this.held.ino || named.dev !== this.held.dev)
      throw new SegmentMovedError(this.path);
  }
}
