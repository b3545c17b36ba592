/**
 * `retentionDays` (LLAMONITOR_RETENTION_DAYS): rows older than that many days
 * are removed in the background, by the sink's prune, once an hour at most per
 * process. Every writer of a table tries; the maintenance lease (PostgreSQL's
 * advisory lock, MySQL's GET_LOCK, the Parquet folder's lease file) lets one
 * run at a time, and a writer that finds it held skips its turn. The first run
 * waits a while after start, so a process that lives a few seconds (a CLI run,
 * a test, a serverless call) never prunes, and a fleet started at once spreads
 * out.
 */
import { context, diag } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { MaintenanceBusyError, type PruneReport } from '../sinks/maintenance.js';
import type { Sink } from '../sinks/sink.js';
import type { ConsoleWarnings } from '../warnings.js';

export const DAY_MILLIS = 86_400_000;
export const RETENTION_INTERVAL_MILLIS = 3_600_000;
/** The first run comes this long after start, plus up to as much again at random. */
export const RETENTION_FIRST_DELAY_MILLIS = 60_000;

export interface RetentionTiming {
  readonly firstDelayMillis: number;
  readonly intervalMillis: number;
}

/** The instant before which rows go, `days` back from `now`. */
export function retentionCutoff(days: number, now: number): Date {
  return new Date(now - days * DAY_MILLIS);
}

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  /** The run in progress, if any: shutdown waits for it before closing the sink. */
  current: Promise<PruneReport | undefined> | undefined;

  constructor(
    /** The prepared sink (its table exists). */
    private readonly sink: () => Promise<Sink>,
    private readonly days: number,
    private readonly warnings: ConsoleWarnings,
    private readonly timing: RetentionTiming = {
      firstDelayMillis: RETENTION_FIRST_DELAY_MILLIS * (1 + Math.random()),
      intervalMillis: RETENTION_INTERVAL_MILLIS,
    },
  ) {}

  start(): void {
    this.schedule(this.timing.firstDelayMillis);
  }

  /** Stops the timer and the run in progress (between two of its batches), and waits for that run. */
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
  private async run(): Promise<PruneReport | undefined> {
    const before = retentionCutoff(this.days, Date.now());
    let target = 'the sink';
    try {
      const sink = await this.sink();
      target = sink.target;
      // The prune's own queries must not become spans the application exports.
      const report = await context.with(suppressTracing(context.active()), () =>
        sink.prune({ before, dryRun: false, signal: this.stopping.signal }),
      );
      if (report.rows > 0 || report.partitions.length > 0) {
        diag.info(
          `llamonitor: removed ${report.rows} rows older than ${before.toISOString()} (retentionDays ${this.days}) from ${target}` +
            (report.partitions.length > 0 ? `: ${report.partitions.join(', ')}` : ''),
        );
      }
      return report;
    } catch (error) {
      if (error instanceof MaintenanceBusyError) {
        diag.debug(`llamonitor: retention skipped this hour: ${error.message}`);
        return undefined;
      }
      this.warnings.once(
        'retention-failed',
        `could not remove the rows older than ${this.days} days (LLAMONITOR_RETENTION_DAYS) from ${target}: ` +
          `${(error as Error).message}. Rows are still written; the removal is tried again every hour, ` +
          `and llamonitor prune --older-than ${this.days}d does it by hand.`,
      );
      return undefined;
    }
  }
}
