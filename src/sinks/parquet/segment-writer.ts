/**
 * Appends batches to one write-ahead log segment on the application's
 * thread. The work per call stays small whatever the batch size: rows are
 * serialised in slices of a few milliseconds, each handed to the file system
 * (off the thread) before the next is built, and one fdatasync makes the
 * batch durable. A failed append is cut back off the file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { MetricEvent } from '../../schema/columns.js';
import { segmentFileName, type SegmentName } from './dataset-layout.js';
import { fsyncFolder } from './durable-fs.js';
import { batchHeaderLine, encodeRowLines, segmentHeaderLine } from './wal-format.js';

/** Time one slice of serialisation may take before the thread is given back. */
const SLICE_MILLIS = 4;
/** Rows serialised between two looks at the clock. */
const ROWS_PER_CLOCK_CHECK = 32;

export class SegmentWriter {
  /** Rows in acknowledged batches. */
  rows = 0;
  /** Bytes holding the header and acknowledged batches. */
  committedBytes: number;
  /** False once an append failed: the segment takes no more batches. */
  usable = true;

  private constructor(
    readonly path: string,
    readonly name: SegmentName,
    private readonly handle: FileHandle,
    headerBytes: number,
  ) {
    this.committedBytes = headerBytes;
  }

  /** Creates the segment file with its header, durably (file and folder entry). */
  static async create(walFolder: string, name: SegmentName): Promise<SegmentWriter> {
    const path = join(walFolder, segmentFileName(name));
    const handle = await open(path, 'wx');
    try {
      const header = Buffer.from(segmentHeaderLine());
      await writeFully(handle, header, 0);
      await handle.sync();
      await fsyncFolder(walFolder);
      return new SegmentWriter(path, name, handle, header.length);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Appends one batch and resolves once it is on disk. `onProgress` hears the
   * size after each slice, so the converter can read ahead.
   */
  async append(
    rows: readonly MetricEvent[],
    createdAt: string,
    onProgress: (size: number) => void,
  ): Promise<void> {
    if (!this.usable) throw new Error(`segment ${this.path} is closed after a failed write`);
    const start = this.committedBytes;
    let position = start;
    try {
      let next = 0;
      let text = batchHeaderLine({ rows: rows.length, createdAt });
      while (next < rows.length) {
        const began = performance.now();
        do {
          const end = Math.min(next + ROWS_PER_CLOCK_CHECK, rows.length);
          text += encodeRowLines(rows, next, end);
          next = end;
        } while (next < rows.length && performance.now() - began < SLICE_MILLIS);
        const bytes = Buffer.from(text);
        text = '';
        await writeFully(this.handle, bytes, position);
        position += bytes.length;
        onProgress(position);
      }
      await this.handle.datasync();
    } catch (error) {
      this.usable = false;
      await this.handle.truncate(start).catch(() => undefined); // the reader ignores an unfinished batch anyway
      throw error;
    }
    this.committedBytes = position;
    this.rows += rows.length;
  }

  async close(): Promise<void> {
    this.usable = false;
    await this.handle.close();
  }
}

async function writeFully(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
}
