/**
 * The writer's own maintenance, each opt-in: `retentionDays`
 * (LLAMONITOR_RETENTION_DAYS) removes the rows older than that many days once
 * an hour, and `parquetCompact` (LLAMONITOR_PARQUET_COMPACT) merges the
 * Parquet dataset's small files of the days before today once a day. Every
 * writer of a table tries; the maintenance lease (PostgreSQL's advisory lock,
 * MySQL's GET_LOCK, the Parquet folder's lease file) lets one run at a time,
 * and a writer that finds it held skips its turn. The first run waits a while
 * after start, so a process that lives a few seconds (a CLI run, a test, a
 * serverless call) never runs one, and a fleet started at once spreads out.
 */
import { context, diag } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { MaintenanceBusyError, type CompactReport, type PruneReport } from '../sinks/maintenance.js';
import type { Sink } from '../sinks/sink.js';
import type { ConsoleWarnings } from '../warnings.js';

export const DAY_MILLIS = 86_400_000;
export const RETENTION_INTERVAL_MILLIS = 3_600_000;
/** The first retention run comes this long after start, plus up to as much again at random. */
export const RETENTION_FIRST_DELAY_MILLIS = 60_000;
/** The first compaction comes this long after start (plus up to as much again), then daily. */
export const COMPACT_FIRST_DELAY_MILLIS = 600_000;

export interface RunTiming {
  readonly firstDelayMillis: number;
  readonly intervalMillis: number;
}

/** The instant before which rows go, `days` back from `now`. */
export function retentionCutoff(days: number, now: number): Date {
  return new Date(now - days * DAY_MILLIS);
}

/** One kind of run: what it does with the sink, and what it says. */
interface Job<R> {
  readonly run: (sink: Sink, signal: AbortSignal) => Promise<R>;
  /** A line for diag.info when the run did something; undefined when it did nothing. */
  readonly done: (report: R, target: string) => string | undefined;
  /** The console warning (once per process) when a run fails. */
  readonly failed: (message: string, target: string) => string;
  readonly cause: string;
}

/** A job run in the background at an interval, never two at once, stopped at shutdown. */
export class PeriodicRun<R> {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  /** The run in progress, if any: shutdown waits for it before closing the sink. */
  current: Promise<R | undefined> | undefined;

  constructor(
    /** The prepared sink (its table exists). */
    private readonly sink: () => Promise<Sink>,
    private readonly job: Job<R>,
    private readonly warnings: ConsoleWarnings,
    private readonly timing: RunTiming,
  ) {}

  start(): void {
    this.schedule(this.timing.firstDelayMillis);
  }

  /** Stops the timer and the run in progress (between two of its steps), and waits for that run. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    await this.current;
  }

  private schedule(delayMillis: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.run();
      void this.current.then(() => this.schedule(this.timing.intervalMillis));
    }, delayMillis);
    this.timer.unref();
  }

  /** One run; never rejects: a failure is a warning (once per process), a held lease a skipped turn. */
  private async run(): Promise<R | undefined> {
    let target = 'the sink';
    try {
      const sink = await this.sink();
      target = sink.target;
      // The run's own queries must not become spans the application exports.
      const report = await context.with(suppressTracing(context.active()), () =>
        this.job.run(sink, this.stopping.signal),
      );
      const line = this.job.done(report, target);
      if (line !== undefined) diag.info(`llamonitor: ${line}`);
      return report;
    } catch (error) {
      if (error instanceof MaintenanceBusyError) {
        diag.debug(`llamonitor: maintenance skipped this turn: ${error.message}`);
        return undefined;
      }
      this.warnings.once(this.job.cause, this.job.failed((error as Error).message, target));
      return undefined;
    }
  }
}

/** `retentionDays`: the rows older than `days` days removed every hour. */
export function retentionRun(
  sink: () => Promise<Sink>,
  days: number,
  warnings: ConsoleWarnings,
  timing: RunTiming = {
    firstDelayMillis: RETENTION_FIRST_DELAY_MILLIS * (1 + Math.random()),
    intervalMillis: RETENTION_INTERVAL_MILLIS,
  },
): PeriodicRun<PruneReport> {
  return new PeriodicRun<PruneReport>(
    sink,
    {
      run: (store, signal) =>
        store.prune({ before: retentionCutoff(days, Date.now()), dryRun: false, signal }),
      done: (report, target) =>
        report.rows > 0 || report.partitions.length > 0
          ? `removed ${report.rows} rows older than ${days} days (retentionDays) from ${target}` +
            (report.partitions.length > 0 ? `: ${report.partitions.join(', ')}` : '')
          : undefined,
      failed: (message, target) =>
        `could not remove the rows older than ${days} days (LLAMONITOR_RETENTION_DAYS) from ${target}: ` +
        `${message}. Rows are still written; the removal is tried again every hour, ` +
        `and llamonitor prune --older-than ${days}d does it by hand.`,
      cause: 'retention-failed',
    },
    warnings,
    timing,
  );
}

/** `parquetCompact`: the small files of the days before today merged once a day. */
export function compactionRun(
  sink: () => Promise<Sink>,
  warnings: ConsoleWarnings,
  timing: RunTiming = {
    firstDelayMillis: COMPACT_FIRST_DELAY_MILLIS * (1 + Math.random()),
    intervalMillis: DAY_MILLIS,
  },
): PeriodicRun<CompactReport> {
  return new PeriodicRun<CompactReport>(
    sink,
    {
      run: async (store, signal) => {
        if (store.compact === undefined) throw new Error(`${store.kind} has no files to compact`);
        return store.compact(signal);
      },
      done: (report, target) => {
        const merged = report.days.filter((day) => day.inputs > 0);
        return merged.length > 0
          ? `compacted ${target}: ${merged.map((d) => `${d.date} (${d.inputs} files into ${d.outputs})`).join(', ')}`
          : undefined;
      },
      failed: (message, target) =>
        `could not compact the small files of ${target} (LLAMONITOR_PARQUET_COMPACT): ${message}. ` +
        `Rows are still written; it is tried again tomorrow, and llamonitor compact does it by hand.`,
      cause: 'compaction-failed',
    },
    warnings,
    timing,
  );
}
