/**
 * The Parquet sink's lifecycle: which segment takes the next batch, when a
 * segment closes and becomes Parquet files, recovery at start, shutdown.
 * Appending is segment-writer.ts; encoding is the worker's (worker-thread.ts).
 *
 * write() resolves once its batch is fsynced in the open write-ahead log
 * segment: the rows are durable, not yet visible. The segment closes at
 * `fileRows` rows, at `fileAgeMillis`, on flush() and on close(); the worker
 * then writes its rows as Parquet files and deletes it. So files hold up to
 * `fileRows` rows however small the batches are, and a crash loses no
 * acknowledged row: the next process's prepare() converts what it finds.
 */
import { readRowsById, removeFilesOfRows } from './read-back.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { diag } from '@opentelemetry/api';
import type { MetricEvent } from '../../schema/columns.js';
import { assertIdentifier } from '../../schema/identifier.js';
import { epochMicrosToIsoMicros } from '../../schema/timestamps.js';
import type { Sink, SinkOptions } from '../sink.js';
import { ConversionWorker } from './worker-client.js';
import { compactTime, hostLabel, probeFileName, walFolder, type Owner } from './dataset-layout.js';
import { abandonedSegments, claimSegment, removeAbandonedTempFiles } from './recovery.js';
import type { ConversionResult } from './segment-conversion.js';
import { SegmentWriter } from './segment-writer.js';

export interface ParquetSinkOptions extends SinkOptions {
  /** Rows per Parquet file at most (`LLAMONITOR_PARQUET_FILE_ROWS`, default 100,000). */
  readonly fileRows: number;
  /**
   * Age at which the open file is closed and its rows become visible
   * (`LLAMONITOR_PARQUET_FILE_AGE_MS`, default 60,000).
   */
  readonly fileAgeMillis: number;
}

export const DEFAULT_FILE_ROWS = 100_000;
export const DEFAULT_FILE_AGE_MILLIS = 60_000;

const TOKEN = Symbol.for('llamonitor-otel.parquet.processToken');
const processGlobals = globalThis as { [TOKEN]?: string };

/**
 * This process, as the owner of the segments it writes. The token lives on
 * globalThis: two copies of the package in one process must be one owner, or
 * each would take the other's open segment for a dead process's.
 */
const THIS_PROCESS: Owner = {
  host: hostLabel(hostname()),
  pid: process.pid,
  token: (processGlobals[TOKEN] ??= randomBytes(4).toString('hex')),
};

const WORKER_SCRIPT = new URL('./worker-thread.js', import.meta.url);

interface WaitingBatch {
  readonly rows: readonly MetricEvent[];
  resolve(): void;
  reject(error: Error): void;
}

export class ParquetSinkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ParquetSinkError';
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ParquetSinkError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function nowIsoMicros(): string {
  return epochMicrosToIsoMicros(BigInt(Date.now()) * 1000n);
}

export class ParquetSink implements Sink {
  readonly kind = 'parquet' as const;
  /** The dataset folder: `<directory>/<table>`. */
  readonly target: string;

  private readonly wal: string;
  private readonly fileRows: number;
  private readonly fileAgeMillis: number;
  private readonly worker = new ConversionWorker(WORKER_SCRIPT);
  /** Appends and rotations, one at a time. */
  private queue: Promise<void> = Promise.resolve();
  private segment: SegmentWriter | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  /** Closed segments not yet converted: path → committed size (undefined: recovered, read it all). */
  private readonly closedSegments = new Map<string, number | undefined>();
  private readonly conversions = new Map<string, Promise<ConversionResult>>();
  /** Batches written and not yet appended. */
  private readonly waiting: WaitingBatch[] = [];
  private folders: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(directory: string, options: ParquetSinkOptions) {
    this.target = join(resolve(directory), assertIdentifier('table', options.table));
    this.wal = walFolder(this.target);
    this.fileRows = positiveInteger('parquetFileRows', options.fileRows);
    this.fileAgeMillis = positiveInteger('parquetFileAgeMillis', options.fileAgeMillis);
  }

  /** Creates the dataset folder and converts segments that ended processes left behind. */
  async prepare(): Promise<void> {
    await this.ensureFolders();
    const removed = await removeAbandonedTempFiles(this.wal, THIS_PROCESS);
    if (removed > 0) diag.debug(`llamonitor parquet: removed ${removed} unfinished file(s) in ${this.wal}`);
    for (const name of await abandonedSegments(this.wal, THIS_PROCESS)) {
      const claimed = await claimSegment(this.wal, name, THIS_PROCESS);
      if (claimed) this.closedSegments.set(claimed, undefined);
    }
    if (this.closedSegments.size === 0) return;
    diag.info(`llamonitor parquet: recovering ${this.closedSegments.size} segment(s) left in ${this.wal}`);
    // A segment that cannot be converted stays where it is (logged); writing goes on.
    await this.convertClosedSegments().catch(() => undefined);
  }

  write(rows: readonly MetricEvent[]): Promise<void> {
    if (this.closing)
      return Promise.reject(new ParquetSinkError(`the Parquet sink for ${this.target} is closed`));
    if (rows.length === 0) return Promise.resolve();
    const written = new Promise<void>((resolve, reject) => this.waiting.push({ rows, resolve, reject }));
    // The append that runs first takes every batch waiting by then: one fdatasync for them all.
    this.enqueue(() => this.appendWaiting()).catch(() => undefined);
    return written;
  }

  async checkHealth(): Promise<void> {
    if (this.closing) throw new ParquetSinkError(`the Parquet sink for ${this.target} is closed`);
    await this.ensureFolders();
    const probe = join(this.wal, probeFileName(THIS_PROCESS));
    try {
      await writeFile(probe, 'ok', { flush: true });
      await unlink(probe);
    } catch (error) {
      const problem = `cannot write in the Parquet dataset folder ${this.wal}: ${message(error)}`;
      throw new ParquetSinkError(problem, { cause: error });
    }
  }

  async readBack(eventIds: readonly string[]): Promise<MetricEvent[]> {
    return readRowsById(this.target, eventIds);
  }

  async remove(eventIds: readonly string[]): Promise<void> {
    await removeFilesOfRows(this.target, eventIds);
  }

  /** Closes the open segment and waits until every closed segment is a Parquet file. */
  async flush(): Promise<void> {
    if (this.closing) return this.closing;
    await this.enqueue(() => this.rotate());
    await this.convertClosedSegments();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    try {
      await this.enqueue(() => this.rotate());
      await this.convertClosedSegments();
    } finally {
      clearTimeout(this.ageTimer);
      await this.discardEmptySegment();
      await this.worker.stop();
    }
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Appends the batches waiting, as many as fit the open segment, with one fdatasync; settles each. */
  private async appendWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      let segment: SegmentWriter;
      try {
        segment = await this.segmentFor((this.waiting[0] as WaitingBatch).rows.length);
      } catch (error) {
        for (const batch of this.waiting.splice(0)) batch.reject(error as Error);
        return;
      }
      const group = this.takeWaiting(this.fileRows - segment.rows);
      const follow = (size: number, committed: boolean) =>
        this.worker.follow({
          segmentPath: segment.path,
          size,
          committed,
          dataset: this.target,
          owner: THIS_PROCESS,
        });
      try {
        await segment.append(
          group.map((batch) => batch.rows),
          nowIsoMicros(),
          follow,
        );
      } catch (error) {
        // The batches were cut back off the segment: its earlier batches become a file,
        // and a new segment takes the next write.
        await this.rotate().catch(() => undefined);
        const rows = group.reduce((sum, batch) => sum + batch.rows.length, 0);
        const failure = new ParquetSinkError(
          `cannot write ${rows} rows to ${segment.path}: ${message(error)}`,
          { cause: error },
        );
        for (const batch of group) batch.reject(failure);
        continue;
      }
      for (const batch of group) batch.resolve();
      if (segment.rows >= this.fileRows) await this.rotate();
      else this.ageTimer ??= this.startAgeTimer();
    }
  }

  /** The open segment if `rows` more fit in it, else a new one. */
  private async segmentFor(rows: number): Promise<SegmentWriter> {
    const current = this.segment;
    if (current && current.rows > 0 && current.rows + rows > this.fileRows) await this.rotate();
    return this.segment ?? (await this.openSegment());
  }

  /** The first waiting batch, and those after it while their rows fit in `room`. */
  private takeWaiting(room: number): WaitingBatch[] {
    let rows = 0;
    let count = 0;
    for (const batch of this.waiting) {
      if (count > 0 && rows + batch.rows.length > room) break;
      rows += batch.rows.length;
      count += 1;
    }
    return this.waiting.splice(0, count);
  }

  private startAgeTimer(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.ageTimer = undefined;
      this.enqueue(() => this.rotate()).catch(() => undefined);
    }, this.fileAgeMillis);
    timer.unref();
    return timer;
  }

  private async openSegment(): Promise<SegmentWriter> {
    await this.ensureFolders();
    const name = { time: compactTime(Date.now()), uuid: randomUUID(), owner: THIS_PROCESS };
    this.segment = await SegmentWriter.create(this.wal, name, this.fileRows);
    return this.segment;
  }

  /** Closes the open segment, if it holds rows, and starts its conversion. */
  private async rotate(): Promise<void> {
    const segment = this.segment;
    if (!segment || (segment.rows === 0 && segment.usable)) return;
    clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    this.segment = undefined;
    await segment.close();
    if (segment.rows === 0) {
      this.worker.forget(segment.path);
      await unlink(segment.path).catch(() => undefined);
      return;
    }
    this.closedSegments.set(segment.path, segment.committedBytes);
    this.convert(segment.path).catch(() => undefined); // logged; flush() and close() try again
  }

  private async discardEmptySegment(): Promise<void> {
    const segment = this.segment;
    this.segment = undefined;
    if (!segment) return;
    await segment.close();
    if (segment.rows === 0) await unlink(segment.path).catch(() => undefined);
  }

  /** Converts every closed segment; rejects when one fails (its rows stay durable in the WAL). */
  private async convertClosedSegments(): Promise<void> {
    const outcomes = await Promise.allSettled(
      [...this.closedSegments.keys()].map((path) => this.convert(path)),
    );
    const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
    if (failures.length > 0) {
      const first = (failures[0] as PromiseRejectedResult).reason as unknown;
      throw new ParquetSinkError(
        `${failures.length} write-ahead log segment(s) in ${this.wal} could not become Parquet files ` +
          `(their rows are kept and retried on the next flush or start): ${message(first)}`,
        { cause: first },
      );
    }
  }

  private convert(segmentPath: string): Promise<ConversionResult> {
    const running = this.conversions.get(segmentPath);
    if (running) return running;
    const conversion = this.worker
      .convert({
        dataset: this.target,
        segmentPath,
        size: this.closedSegments.get(segmentPath),
        owner: THIS_PROCESS,
      })
      .then(
        (result) => {
          this.closedSegments.delete(segmentPath);
          logConversion(segmentPath, result);
          return result;
        },
        (error: unknown) => {
          diag.error(`llamonitor parquet: cannot convert ${segmentPath}: ${message(error)}`);
          throw error;
        },
      )
      .finally(() => this.conversions.delete(segmentPath));
    this.conversions.set(segmentPath, conversion);
    return conversion;
  }

  private ensureFolders(): Promise<void> {
    this.folders ??= createFolders(this.target, this.wal).catch((error: unknown) => {
      this.folders = undefined;
      throw error;
    });
    return this.folders;
  }
}

async function createFolders(dataset: string, wal: string): Promise<void> {
  try {
    await mkdir(wal, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOTDIR' || code === 'EEXIST'
        ? 'a part of that path is a file, not a folder'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EROFS'
            ? 'the file system is read-only'
            : message(error);
    throw new ParquetSinkError(
      `cannot create the Parquet dataset folder ${dataset}: ${reason} (${code ?? 'error'}). ` +
        'Point LLAMONITOR_URL at a folder this process can write.',
      { cause: error },
    );
  }
}

function logConversion(segmentPath: string, result: ConversionResult): void {
  for (const problem of result.problems) diag.warn(`llamonitor parquet: ${segmentPath}: ${problem}`);
  if (result.duplicates > 0) {
    diag.debug(`llamonitor parquet: ${result.duplicates} repeated event(s) in ${segmentPath} stored once`);
  }
  diag.debug(
    `llamonitor parquet: ${result.rows} rows from ${segmentPath} in ${result.files.join(', ') || 'no new file'}`,
  );
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
