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
 *
 * The dataset folder may vanish under a running sink (moved or deleted by
 * hand, or by a tool that cleans the folder): the sink makes it again and
 * writes on. A batch made durable in a segment that is no longer in the
 * dataset is written again, into a new segment, before it is acknowledged.
 */
import { readRowsById, removeFilesOfRows } from './read-back.js';
import { prune, reprice } from './maintenance.js';
import { CallQueries } from '../call-queries.js';
import { ParquetQueryRunner } from './call-reader.js';
import { compact } from './compaction.js';
import type {
  CompactReport,
  PruneReport,
  PruneRequest,
  RepriceReport,
  RepriceRequest,
} from '../maintenance.js';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diag } from '@opentelemetry/api';
import type { MetricEvent } from '../../schema/columns.js';
import { assertIdentifier } from '../../schema/identifier.js';
import { epochMicrosToIsoMicros } from '../../schema/timestamps.js';
import { ConfigError } from '../../errors.js';
import { ConsoleWarnings } from '../../warnings.js';
import { OwnerLeases, thisProcess } from '../process-owner.js';
import type { SchemaGaps, Sink, SinkOptions } from '../sink.js';
import { ConversionWorker } from './worker-client.js';
import { compactTime, datasetFolder, probeFileName, walFolder, type Owner } from './dataset-layout.js';
import { fileModesOf, makeFolders, type FileModes, type FileMode } from '../file-modes.js';
import {
  abandonedSegments,
  claimSegment,
  removeAbandonedTempFiles,
  removeDeadLeases,
  segmentsIn,
  type SegmentOnDisk,
} from './recovery.js';
import type { ConversionResult } from './segment-conversion.js';
import { SegmentMovedError, SegmentWriter } from './segment-writer.js';

export interface ParquetSinkOptions extends SinkOptions {
  /** Rows per Parquet file at most (`LLAMONITOR_PARQUET_FILE_ROWS`, default 100,000). */
  readonly fileRows: number;
  /**
   * Age at which the open file is closed and its rows become visible
   * (`LLAMONITOR_PARQUET_FILE_AGE_MS`, default 60,000).
   */
  readonly fileAgeMillis: number;
  /**
   * Who may read the files (`LLAMONITOR_FILE_MODE`): `private` (default, files
   * 0600, folders 0700) or `group` (0640, 0750).
   */
  readonly fileMode?: FileMode | undefined;
  /** The package's console warnings (`LLAMONITOR_WARNINGS`); off sends them to diag. Default on. */
  readonly warnings?: boolean | undefined;
  /**
   * Also recover the segments of processes of other hosts whose lease is
   * missing or stale (`llamonitor recover` asks for it); default: this host's only.
   */
  readonly recoverOtherHosts?: boolean | undefined;
}

/** What prepare() found and did in the WAL folder. */
export interface RecoveryReport {
  /** Segments of ended processes that became Parquet files. */
  readonly segments: number;
  readonly rows: number;
  /** Parquet files written. */
  readonly files: number;
  /** Rows lost to damage in those segments. */
  readonly lostRows: number;
  /** Where damaged segments went. */
  readonly quarantined: readonly string[];
  /** Why segments could not be converted, one line each: they stay for the next start. */
  readonly failures: readonly string[];
  /** Segments left to their owners: live processes of this host, and processes of other hosts. */
  readonly leftToLiveProcesses: number;
  readonly leftToOtherHosts: number;
}

export const DEFAULT_FILE_ROWS = 100_000;
export const DEFAULT_FILE_AGE_MILLIS = 60_000;

const WORKER_SCRIPT = new URL('./worker-thread.js', import.meta.url);

interface WaitingBatch {
  readonly rows: readonly MetricEvent[];
  /** Set once the batch was appended to a segment found moved: it is written again once, not forever. */
  rewritten?: boolean;
  resolve(): void;
  reject(error: Error): void;
}

/** File system errors that no retry cures: the folder given cannot be used as it is. */
const SETTINGS_CODES = new Set(['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS']);

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
  private readonly modes: FileModes;
  private readonly warnings: ConsoleWarnings;
  private readonly recoverOtherHosts: boolean;
  /**
   * This process, as the owner of the segments it writes: its token is shared
   * by every copy of the package in the process and by the worker thread.
   */
  private readonly owner: Owner = thisProcess();
  private readonly worker: ConversionWorker;
  /** This process's lease in the WAL folder, kept while the sink is open. */
  private readonly leases: OwnerLeases;
  private recovery: RecoveryReport | undefined;
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
    this.target = datasetFolder(directory, assertIdentifier('table', options.table));
    this.wal = walFolder(this.target);
    this.fileRows = positiveInteger('parquetFileRows', options.fileRows);
    this.fileAgeMillis = positiveInteger('parquetFileAgeMillis', options.fileAgeMillis);
    this.modes = fileModesOf(options.fileMode);
    this.warnings = new ConsoleWarnings(options.warnings ?? true);
    this.recoverOtherHosts = options.recoverOtherHosts ?? false;
    this.leases = new OwnerLeases(this.wal);
    this.worker = new ConversionWorker(WORKER_SCRIPT, { processToken: this.owner.token, modes: this.modes });
  }

  /** What the last prepare() recovered; undefined before it ran. */
  get recoveryReport(): RecoveryReport | undefined {
    return this.recovery;
  }

  /** Creates the dataset folder and converts segments that ended processes left behind. */
  async prepare(): Promise<void> {
    await this.ensureFolders();
    const scope = { otherHosts: this.recoverOtherHosts };
    const removed = await removeAbandonedTempFiles(this.wal, this.leases, scope);
    if (removed > 0) diag.debug(`llamonitor parquet: removed ${removed} unfinished file(s) in ${this.wal}`);
    const recovered: string[] = [];
    for (const name of await abandonedSegments(this.wal, this.leases, scope)) {
      const claimed = await claimSegment(this.wal, name, this.owner);
      if (!claimed) continue;
      this.closedSegments.set(claimed, undefined);
      recovered.push(claimed);
    }
    if (recovered.length > 0) {
      diag.info(`llamonitor parquet: recovering ${recovered.length} segment(s) left in ${this.wal}`);
    }
    // A segment that cannot be converted stays where it is (logged); writing goes on.
    const outcomes = await Promise.allSettled(recovered.map((path) => this.convert(path)));
    await removeDeadLeases(this.wal, this.leases, scope).catch(() => undefined);
    const left = (await segmentsIn(this.wal, this.leases)).filter(
      ({ segment }) => segment.owner.token !== this.owner.token,
    );
    this.recovery = recoveryReport(recovered, outcomes, left);
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
    const probe = join(this.wal, probeFileName(this.owner));
    const writeProbe = async () => {
      await writeFile(probe, 'ok', { flush: true, mode: this.modes.file });
      await unlink(probe);
    };
    try {
      await writeProbe().catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
        await this.remakeFolders();
        await writeProbe();
      });
    } catch (error) {
      const problem = `cannot write in the Parquet dataset folder ${this.wal}: ${message(error)}`;
      throw new ParquetSinkError(problem, { cause: error });
    }
  }

  async readBack(eventIds: readonly string[]): Promise<MetricEvent[]> {
    return readRowsById(this.target, eventIds);
  }

  /**
   * Nothing to change: each file carries its own schema. Files written before
   * 1.1 lack its columns and read as one table with the newer ones when the
   * reader unions by name (DuckDB `union_by_name = true`).
   */
  async migrate(): Promise<readonly string[]> {
    return [];
  }

  async schemaGaps(): Promise<SchemaGaps> {
    return { columns: [], indexes: [] };
  }

  async remove(eventIds: readonly string[]): Promise<void> {
    await removeFilesOfRows(this.target, eventIds);
  }

  callQueries(): CallQueries {
    return new CallQueries(new ParquetQueryRunner(this.target));
  }

  /** Merges the small files of the days before today, under the folder's maintenance lease. */
  async compact(signal?: AbortSignal): Promise<CompactReport> {
    return compact(this.target, { fileRows: this.fileRows, fileMode: this.modes.file, signal });
  }

  /** Removes the day folders older than `request.before`, under the folder's maintenance lease. */
  async prune(request: PruneRequest): Promise<PruneReport> {
    return prune(this.target, request, this.modes.file);
  }

  /** Re-prices the rows of the dataset's visible files, under the folder's maintenance lease. */
  async reprice(request: RepriceRequest): Promise<RepriceReport> {
    return reprice(this.target, request, this.modes.file);
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
      await this.leases.stop().catch(() => undefined);
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
          owner: this.owner,
        });
      try {
        await segment.append(
          group.map((batch) => batch.rows),
          nowIsoMicros(),
          follow,
        );
      } catch (error) {
        if (error instanceof SegmentMovedError && !group.some((batch) => batch.rewritten)) {
          // Durable, but no longer in the dataset: written again into a new segment, then acknowledged.
          await this.segmentMoved(segment);
          for (const batch of group) batch.rewritten = true;
          this.waiting.unshift(...group);
          continue;
        }
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
    const create = () => {
      const name = { time: compactTime(Date.now()), uuid: randomUUID(), owner: this.owner };
      return SegmentWriter.create(this.wal, name, this.fileRows, this.modes.file);
    };
    this.segment = await create().catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      await this.remakeFolders();
      return create();
    });
    return this.segment;
  }

  /**
   * The dataset folder, or its WAL folder, was moved or deleted since this
   * sink made it: make them again (and the lease) and write on.
   */
  private async remakeFolders(): Promise<void> {
    this.folders = undefined;
    if (!existsSync(this.wal)) {
      this.warnings.once(
        `parquet-folder-vanished:${this.wal}`,
        `the Parquet dataset folder ${this.target} (or its _wal folder) was moved or deleted while in use; ` +
          'it was made again and writing goes on. Keep other tools out of it (a spill folder must not be the Parquet folder).',
      );
    }
    await this.ensureFolders();
  }

  /** The open segment is no longer at its path: leave it, and its earlier rows, to whoever moved it. */
  private async segmentMoved(segment: SegmentWriter): Promise<void> {
    clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    if (this.segment === segment) this.segment = undefined;
    await segment.close().catch(() => undefined);
    this.worker.forget(segment.path);
    this.warnings.once(
      `parquet-segment-moved:${segment.path}`,
      `the write-ahead log segment ${segment.path} was moved or deleted while open (by hand, or by a process that ` +
        `took this one for ended): its ${segment.rows} earlier rows are where it went; ` +
        'the batch being written was written again into a new segment, and writing goes on',
    );
    await this.remakeFolders();
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
        owner: this.owner,
      })
      .then(
        (result) => {
          this.closedSegments.delete(segmentPath);
          this.logConversion(segmentPath, result);
          return result;
        },
        (error: unknown) => {
          if (!existsSync(segmentPath)) return this.closedSegmentVanished(segmentPath);
          diag.error(`llamonitor parquet: cannot convert ${segmentPath}: ${message(error)}`);
          throw error;
        },
      )
      .finally(() => this.conversions.delete(segmentPath));
    this.conversions.set(segmentPath, conversion);
    return conversion;
  }

  /** A closed segment that was moved or deleted before its conversion: nothing is left to convert. */
  private closedSegmentVanished(segmentPath: string): ConversionResult {
    this.closedSegments.delete(segmentPath);
    this.warnings.once(
      `parquet-segment-moved:${segmentPath}`,
      `the write-ahead log segment ${segmentPath} was moved or deleted before its rows became Parquet files: ` +
        `they are not in ${this.target}`,
    );
    return {
      rows: 0,
      files: [],
      filesAlreadyThere: 0,
      duplicates: 0,
      droppedBatches: 0,
      lostRows: 0,
      quarantinedTo: undefined,
      problems: [],
    };
  }

  private logConversion(segmentPath: string, result: ConversionResult): void {
    for (const problem of result.problems) diag.warn(`llamonitor parquet: ${segmentPath}: ${problem}`);
    if (result.quarantinedTo !== undefined) {
      this.warnings.once(
        `parquet-quarantine:${result.quarantinedTo}`,
        `${result.lostRows} rows of the write-ahead log segment ${segmentPath} were damaged on disk and are lost; ` +
          `its other ${result.rows} rows are stored. The segment was moved to ${result.quarantinedTo}.`,
      );
    }
    if (result.duplicates > 0) {
      diag.debug(`llamonitor parquet: ${result.duplicates} repeated event(s) in ${segmentPath} stored once`);
    }
    diag.debug(
      `llamonitor parquet: ${result.rows} rows from ${segmentPath} in ${result.files.join(', ') || 'no new file'}`,
    );
  }

  private ensureFolders(): Promise<void> {
    this.folders ??= this.createFolders().catch((error: unknown) => {
      this.folders = undefined;
      throw error;
    });
    return this.folders;
  }

  /** Makes the dataset and WAL folders (the missing ones, with the folder mode), then publishes the lease. */
  private async createFolders(): Promise<void> {
    await createFolders(this.target, this.wal, this.modes.folder);
    await this.leases.stop(); // a lease of a folder that went missing, if any: published again below
    await this.leases.publish(this.modes.file);
  }
}

async function createFolders(dataset: string, wal: string, folderMode: number): Promise<void> {
  try {
    await makeFolders(wal, folderMode);
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
    const explained =
      `cannot create the Parquet dataset folder ${dataset}: ${reason} (${code ?? 'error'}). ` +
      'Point LLAMONITOR_URL at a folder this process can write.';
    // A file in the way, a permission or a read-only file system stays so until someone changes it.
    if (code !== undefined && SETTINGS_CODES.has(code))
      throw new ConfigError(explained, { code, cause: error });
    throw new ParquetSinkError(explained, { cause: error });
  }
}

/** What prepare() did with the segments it claimed (`outcomes` in the order of `claimed`), and what it left. */
function recoveryReport(
  claimed: readonly string[],
  outcomes: readonly PromiseSettledResult<ConversionResult>[],
  left: readonly SegmentOnDisk[],
): RecoveryReport {
  const results = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  return {
    segments: results.length,
    rows: results.reduce((sum, result) => sum + result.rows, 0),
    files: results.reduce((sum, result) => sum + result.files.length, 0),
    lostRows: results.reduce((sum, result) => sum + result.lostRows, 0),
    quarantined: results.flatMap((result) => (result.quarantinedTo ? [result.quarantinedTo] : [])),
    failures: outcomes.flatMap((outcome, index) =>
      outcome.status === 'rejected' ? [`${claimed[index]}: ${message(outcome.reason)}`] : [],
    ),
    leftToLiveProcesses: left.filter(({ state }) => state !== 'other-host').length,
    leftToOtherHosts: left.filter(({ state }) => state === 'other-host').length,
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
