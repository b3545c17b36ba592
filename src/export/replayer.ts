/**
 * Sends spilled batches back to the sink once it is healthy again, oldest
 * first, removing each file only after the sink took it. Rows the sink refuses
 * are found by splitting the batch and kept in the dead-letter folder, so that
 * a file is never tried again and again. Runs in the background while spill
 * files exist; the CLI's `replay` runs it on demand.
 */
import { diag } from '@opentelemetry/api';
import { errorKindOf } from '../errors.js';
import type { MetricEvent } from '../schema/columns.js';
import { DeadLetterStore } from '../spill/dead-letter.js';
import {
  CorruptSpillError,
  type ClaimedSpill,
  type SpillDestination,
  type SpilledBatch,
  type SpillStore,
} from '../spill/spill-store.js';
import { withDeadline } from './deadline.js';
import { storeAroundRefusals, type PartOutcome } from './refused-rows.js';

const log = diag.createComponentLogger({ namespace: 'llamonitor-otel/replay' });

/** How long after a spill, or after a pass that left files, the next background pass runs. */
export const REPLAY_INTERVAL_MILLIS = 5_000;
/** The wait instead, while the sink's settings do not work: they change when someone changes them. */
export const CONFIGURATION_RECHECK_MILLIS = 60_000;

export interface ReplayTarget {
  /** Only files meant for this table are replayed; undefined takes every file. */
  readonly destination: SpillDestination | undefined;
  /** Stores rows; gives up when `signal` aborts (the replay's deadline passed). */
  readonly write: (rows: readonly MetricEvent[], signal: AbortSignal) => Promise<void>;
  readonly checkHealth: (signal: AbortSignal) => Promise<void>;
  /** Where rows the sink refuses are kept; by default `dead-letter/` in the spill folder, files private. */
  readonly deadLetters?: DeadLetterStore;
  /** Warns once per cause (the exporter's console warnings); diag.warn by default. */
  readonly warn?: (cause: string, message: string) => void;
  readonly timeoutMillis: number;
  /** Wait before a background pass; REPLAY_INTERVAL_MILLIS unless a test wants it shorter. */
  readonly intervalMillis?: number | undefined;
  /** Wait while the settings do not work; CONFIGURATION_RECHECK_MILLIS unless a test wants it shorter. */
  readonly configurationRecheckMillis?: number | undefined;
  /**
   * With `retentionDays`: the instant rows older than are removed, asked at
   * each pass. A file whose rows are all older is not replayed (the next prune
   * would remove them at once) but set aside, with the reason, and reported.
   */
  readonly retentionCutoff?: (() => Date) | undefined;
}

export interface ReplayReport {
  readonly files: number;
  readonly rows: number;
  readonly setAside: number;
  /** Of those, files set aside because all their rows are older than the retention (not counted in `rows`). */
  readonly expired: number;
  /** Rows the sink refused, now in the dead-letter folder (not counted in `rows`). */
  readonly deadLettered: number;
  /** Files the sink refused although it was healthy (a batch it cannot take), and why: kept for the next replay. */
  readonly refused: readonly { readonly file: string; readonly reason: string }[];
  /** Why the replay stopped early, when it did: the files left wait for the next one. */
  readonly stoppedBecause?: string;
  /** True when it stopped because the sink's settings do not work (the next pass waits longer). */
  readonly configurationError?: boolean;
}

/** Every row's timestamp is before `cutoff` (a row whose timestamp cannot be read is not). */
function allOlder(rows: readonly MetricEvent[], cutoff: Date): boolean {
  const limit = cutoff.getTime();
  for (const row of rows) if (!(Date.parse(row.timestamp) < limit)) return false;
  return rows.length > 0;
}

function sameDestination(a: SpillDestination, b: SpillDestination): boolean {
  return a.table === b.table && (a.schema ?? null) === (b.schema ?? null);
}

export class Replayer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReplayReport> | undefined;
  private stopped = false;
  /** Set while the sink's settings do not work: passes come every CONFIGURATION_RECHECK_MILLIS. */
  private slowly = false;
  private readonly deadLetters: DeadLetterStore;

  constructor(
    private readonly store: SpillStore,
    private readonly target: ReplayTarget,
  ) {
    this.deadLetters = target.deadLetters ?? new DeadLetterStore(store.directory);
  }

  /** Schedules a background replay soon (after a spill, or at start-up); later while the settings do not work. */
  wake(): void {
    if (this.stopped || this.timer) return;
    const wait = this.slowly
      ? (this.target.configurationRecheckMillis ?? CONFIGURATION_RECHECK_MILLIS)
      : (this.target.intervalMillis ?? REPLAY_INTERVAL_MILLIS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.replayOnce().then((report) => {
        if (report.stoppedBecause !== undefined || report.files > 0 || report.refused.length > 0) this.wake();
      });
    }, wait);
    this.timer.unref();
  }

  /** The sink's settings do not work: passes wait CONFIGURATION_RECHECK_MILLIS until a health check passes. */
  recheckSlowly(): void {
    if (this.slowly) return;
    this.slowly = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake();
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
    let expired = 0;
    let deadLettered = 0;
    const refused: { file: string; reason: string }[] = [];
    const report = (stoppedBecause?: string, cause?: unknown): ReplayReport => {
      const configurationError = cause !== undefined && errorKindOf(cause) === 'configuration';
      if (configurationError) this.slowly = true;
      return {
        files,
        rows,
        setAside,
        expired,
        deadLettered,
        refused,
        ...(stoppedBecause === undefined ? {} : { stoppedBecause }),
        ...(configurationError ? { configurationError } : {}),
      };
    };
    try {
      const names = await this.store.list();
      if (names.length === 0) return report();
      try {
        await this.withinTimeout((signal) => this.target.checkHealth(signal), 'the health check');
        this.slowly = false;
      } catch (error) {
        return report(`the sink is not healthy: ${(error as Error).message}`, error);
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
        const cutoff = this.target.retentionCutoff?.();
        if (cutoff !== undefined && allOlder(batch.rows, cutoff)) {
          const reason =
            `its ${batch.rows.length} rows are all older than the retention (before ${cutoff.toISOString()}, ` +
            `LLAMONITOR_RETENTION_DAYS): not replayed, since the next prune would remove them at once`;
          await this.store.setAside(name, reason, claimed.path);
          setAside++;
          expired++;
          this.target.warn?.(
            'spill-expired',
            `spill files older than the retention were not replayed and are kept in ${this.store.directory}/set-aside ` +
              `with the reason beside each (the first: ${name}); delete them, or replay them with a longer retention`,
          );
          continue;
        }
        const outcome = await this.writePart(batch.rows, name);
        if (outcome.kind === 'refused-data') {
          const split = await this.storeAroundRefusals(claimed, batch, outcome.error);
          deadLettered += split.deadLettered;
          if (split.failure) return report(split.failure.message, split.failure);
          files++;
          rows += batch.rows.length - split.deadLettered;
          continue;
        }
        if (outcome.kind === 'failed') {
          const error = outcome.error;
          await this.store.release(claimed);
          if (errorKindOf(error) === 'configuration') return report(error.message, error);
          // A sink still healthy refused this batch itself: the files after it must not wait behind it.
          if (await this.healthy()) {
            refused.push({ file: name, reason: error.message });
            log.warn(`the sink refused the rows of ${name}; kept for the next replay: ${error.message}`);
            continue;
          }
          return report(error.message, error);
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

  private async writePart(rows: readonly MetricEvent[], name: string): Promise<PartOutcome> {
    try {
      await this.withinTimeout((signal) => this.target.write(rows, signal), `replaying ${name}`);
      return { kind: 'stored' };
    } catch (error) {
      const kind = errorKindOf(error);
      return kind === 'refused-data'
        ? { kind, error: error as Error }
        : { kind: 'failed', error: error as Error };
    }
  }

  /**
   * A spill file the sink refused: its rows are split to store the others and
   * dead-letter the refused ones. When a write fails otherwise on the way, the
   * rows left go to a new spill file that replaces this one, so that the rows
   * found refused are not looked for (and kept) again.
   */
  private async storeAroundRefusals(
    claimed: ClaimedSpill,
    batch: SpilledBatch,
    refusal: Error,
  ): Promise<{ deadLettered: number; failure: Error | undefined }> {
    const { name } = claimed;
    const split = await storeAroundRefusals(batch.rows, refusal, (part) => this.writePart(part, name));
    try {
      if (split.refused.length > 0) {
        const kept = await this.deadLetters.store(split.refused, batch, name);
        const first = split.refused[0] as (typeof split.refused)[number];
        const message =
          `the sink refused ${split.refused.length} of the ${batch.rows.length} rows of ${name} (${first.error}); ` +
          `they are kept with the server's error in ${this.deadLetters.directory}/${kept} and not replayed again`;
        if (this.target.warn) this.target.warn(`refused-data:${first.code ?? first.error}`, message);
        else log.warn(message);
      }
      if (split.unwritten.length > 0) {
        await this.store.store(split.unwritten, batch, batch.reason);
      }
    } catch (error) {
      // Nothing is lost: the file is given back whole, and the next pass looks again.
      await this.store.release(claimed);
      return { deadLettered: 0, failure: error as Error };
    }
    await this.store.remove(claimed);
    log.info(
      `replayed ${batch.rows.length - split.refused.length - split.unwritten.length} rows from ${name}` +
        (split.unwritten.length > 0 ? `; ${split.unwritten.length} rows left for the next replay` : ''),
    );
    return { deadLettered: split.refused.length, failure: split.failure };
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
