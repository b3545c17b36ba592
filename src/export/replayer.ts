/**
 * Sends spilled batches back to the sink once it is healthy again, oldest
 * first, removing each file only after the sink took it. Runs in the
 * background while spill files exist; the CLI's `replay` runs it on demand.
 */
import { diag } from '@opentelemetry/api';
import type { MetricEvent } from '../schema/columns.js';
import { CorruptSpillError, type SpillDestination, type SpillStore } from '../spill/spill-store.js';
import { withDeadline } from './deadline.js';

const log = diag.createComponentLogger({ namespace: 'llamonitor-otel/replay' });

/** How long after a spill, or after a pass that left files, the next background pass runs. */
export const REPLAY_INTERVAL_MILLIS = 5_000;

export interface ReplayTarget {
  /** Only files meant for this table are replayed; undefined takes every file. */
  readonly destination: SpillDestination | undefined;
  /** Stores rows; gives up when `signal` aborts (the replay's deadline passed). */
  readonly write: (rows: readonly MetricEvent[], signal: AbortSignal) => Promise<void>;
  readonly checkHealth: (signal: AbortSignal) => Promise<void>;
  readonly timeoutMillis: number;
  /** Wait before a background pass; REPLAY_INTERVAL_MILLIS unless a test wants it shorter. */
  readonly intervalMillis?: number;
}

export interface ReplayReport {
  readonly files: number;
  readonly rows: number;
  readonly setAside: number;
  /** Files the sink refused although it was healthy (a batch it cannot take), and why: kept for the next replay. */
  readonly refused: readonly { readonly file: string; readonly reason: string }[];
  /** Why the replay stopped early, when it did: the files left wait for the next one. */
  readonly stoppedBecause?: string;
}

function sameDestination(a: SpillDestination, b: SpillDestination): boolean {
  return a.table === b.table && (a.schema ?? null) === (b.schema ?? null);
}

export class Replayer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReplayReport> | undefined;
  private stopped = false;

  constructor(
    private readonly store: SpillStore,
    private readonly target: ReplayTarget,
  ) {}

  /** Schedules a background replay soon (after a spill, or at start-up). */
  wake(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.replayOnce().then((report) => {
        if (report.stoppedBecause !== undefined || report.files > 0 || report.refused.length > 0) this.wake();
      });
    }, this.target.intervalMillis ?? REPLAY_INTERVAL_MILLIS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One pass over the spill folder; never rejects. */
  replayOnce(): Promise<ReplayReport> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Runs `work` until the replay's timeout, then aborts it: a hung write must not hold its connection. */
  private async withinTimeout(work: (signal: AbortSignal) => Promise<void>, what: string): Promise<void> {
    const abort = new AbortController();
    try {
      await withDeadline(work(abort.signal), this.target.timeoutMillis, what);
    } catch (error) {
      abort.abort(error);
      throw error;
    }
  }

  private async pass(): Promise<ReplayReport> {
    let files = 0;
    let rows = 0;
    let setAside = 0;
    const refused: { file: string; reason: string }[] = [];
    const report = (stoppedBecause?: string): ReplayReport => ({
      files,
      rows,
      setAside,
      refused,
      ...(stoppedBecause === undefined ? {} : { stoppedBecause }),
    });
    try {
      const names = await this.store.list();
      if (names.length === 0) return report();
      try {
        await this.withinTimeout((signal) => this.target.checkHealth(signal), 'the health check');
      } catch (error) {
        return report(`the sink is not healthy: ${(error as Error).message}`);
      }
      for (const name of names) {
        if (this.stopped) return report('the exporter is shutting down');
        const claimed = await this.store.claim(name);
        if (!claimed) continue;
        let batch;
        try {
          batch = await this.store.read(claimed);
        } catch (error) {
          // Whatever cannot be read (damaged, not a spill, a folder by that name) must not stop the replay.
          const problem =
            error instanceof CorruptSpillError
              ? error.message
              : `${name} cannot be read: ${(error as Error).message}`;
          await this.store.setAside(name, problem, claimed.path);
          setAside++;
          continue;
        }
        if (this.target.destination && !sameDestination(batch, this.target.destination)) {
          await this.store.release(claimed);
          continue;
        }
        try {
          await this.withinTimeout((signal) => this.target.write(batch.rows, signal), `replaying ${name}`);
        } catch (error) {
          await this.store.release(claimed);
          // A sink still healthy refused this batch itself: the files after it must not wait behind it.
          if (await this.healthy()) {
            refused.push({ file: name, reason: (error as Error).message });
            log.warn(
              `the sink refused the rows of ${name}; kept for the next replay: ${(error as Error).message}`,
            );
            continue;
          }
          return report((error as Error).message);
        }
        await this.store.remove(claimed);
        files++;
        rows += batch.rows.length;
        log.info(`replayed ${batch.rows.length} rows from ${name}`);
      }
      return report();
    } catch (error) {
      log.error(`replay of ${this.store.directory} failed: ${(error as Error).message}`);
      return report((error as Error).message);
    }
  }

  private async healthy(): Promise<boolean> {
    try {
      await this.withinTimeout((signal) => this.target.checkHealth(signal), 'the health check');
      return true;
    } catch {
      return false;
    }
  }
}
