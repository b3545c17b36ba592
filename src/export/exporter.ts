/**
 * The exporter's lifecycle: export, the writes in flight, forceFlush, shutdown.
 * It maps spans with the pure `toMetricEvent` and hands rows to a sink. What a
 * failed write leads to depends on its kind (errors.ts): the store away is
 * retried with backoff until the export's deadline, then the rows are spilled
 * to disk, so that an outage costs no row; settings that cannot work spill at
 * once; rows the store refuses are found by splitting the batch and kept in
 * the dead-letter folder while the others are stored. The mapping lives in
 * mapping/, the I/O in sinks/ and spill/.
 */
import { context, diag } from '@opentelemetry/api';
import {
  ExportResultCode,
  globalErrorHandler,
  suppressTracing,
  type ExportResult,
} from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { resolveOptions, type MetricEventsExporterOptions, type ResolvedOptions } from '../config/options.js';
import { createSink } from '../config/create-sink.js';
import { toMetricEvent } from '../mapping/to-metric-event.js';
import { withEstimatedTokens, type TokensToEstimate } from '../mapping/token-estimate.js';
import { MAX_ESTIMATED_CHARS_PER_EXPORT, TokenEstimator } from './token-estimator.js';
import { priceTableOf } from '../config/prices.js';
import { PriceUpdates, type PriceDataSource } from './price-updates.js';
import type { PriceTable } from '../pricing/price-table.js';
import type { MappingOptions } from '../mapping/span-like.js';
import type { MetricEvent } from '../schema/columns.js';
import { fitRow } from '../schema/fit-row.js';
import type { Sink } from '../sinks/sink.js';
import { SpillStore } from '../spill/spill-store.js';
import { DeadLetterStore, type RefusedRow } from '../spill/dead-letter.js';
import { ConnectionError, errorKindOf } from '../errors.js';
import { ConsoleWarnings } from '../warnings.js';
import { backoffDelayMillis } from './retry-policy.js';
import { estimateRowBytes } from './row-bytes.js';
import { Replayer, CONFIGURATION_RECHECK_MILLIS } from './replayer.js';
import { storeAroundRefusals, type PartOutcome, type SplitResult } from './refused-rows.js';
import { WriteSlots } from './write-slots.js';
import { Deadline, DeadlineError, withDeadline } from './deadline.js';
import { rowMetricsOf, type RowMetrics } from '../metrics/row-metrics.js';
import {
  compactionRun,
  retentionCutoff,
  retentionRun,
  type PeriodicRun,
  type RunTiming,
} from './maintenance-runs.js';
import type { CompactReport, PruneReport } from '../sinks/maintenance.js';

const log = diag.createComponentLogger({ namespace: 'llamonitor-otel' });

/** Share of an export's deadline spent on retries; the rest is kept for the spill. */
const RETRY_SHARE = 0.8;
/**
 * Share of the shutdown deadline for which a write that failed after shutdown
 * began is tried again: its rows are spilled then, and the next start replays
 * them, rather than hold the application's exit for most of the deadline.
 */
const SHUTDOWN_RETRY_SHARE = 0.2;
/**
 * Longest the mapping holds the event loop before giving it back: a batch of
 * 512 spans takes several times this, which would stall the application's
 * timers and I/O for that long (bench: event_loop_p99_ms_*).
 */
const MAPPING_SLICE_MILLIS = 2;

/** Share of an export's deadline it waits for token counts at most (the first count loads a tokenizer: about 0.2 s). */
const ESTIMATE_SHARE = 0.25;
const ESTIMATE_MAX_MILLIS = 10_000;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Work done in slices of MAPPING_SLICE_MILLIS: `if (slices.due) await slices.giveBack()` between items. */
class EventLoopSlices {
  private end = performance.now() + MAPPING_SLICE_MILLIS;

  get due(): boolean {
    return performance.now() > this.end;
  }

  async giveBack(): Promise<void> {
    await yieldToEventLoop();
    this.end = performance.now() + MAPPING_SLICE_MILLIS;
  }
}

/** Rows mapped from one export, and the memory they hold (the cap on writes in flight counts it). */
interface MappedBatch {
  readonly rows: MetricEvent[];
  readonly bytes: number;
}

/** A row of the batch whose tokens the worker is to count. */
interface RowEstimate {
  readonly index: number;
  readonly need: TokensToEstimate;
}

/** Why exports go straight to the spill, while they do. */
interface SinkDown {
  readonly since: string;
  /** The console warning's cause: later failures of the same cause go to diag only. */
  readonly cause: string;
}

/** @internal Settings no user needs, for tests that cannot wait for the defaults. */
export interface ExporterInternals {
  /** Wait before a background replay pass (default 5 s). */
  readonly replayIntervalMillis?: number;
  /** Wait before the background replay checks settings that did not work again (default 60 s). */
  readonly configurationRecheckMillis?: number;
  /** Where the package's console warnings go (default: stderr, once per cause per process). */
  readonly warnings?: ConsoleWarnings;
  /** Where `pricesAutoUpdate` fetches price data from (default: genai-prices' published file). */
  readonly priceData?: PriceDataSource;
  /** Counts the tokens of rows that need an estimate (default: the package's worker), when `estimateTokens` is on. */
  readonly tokenEstimator?: TokenEstimator;
  /** When `retentionDays` prunes: first after about a minute, then hourly. */
  readonly retentionTiming?: RunTiming;
  /** When `parquetCompact` compacts: first after about ten minutes, then daily. */
  readonly compactionTiming?: RunTiming;
}

/** The console warning's cause for an error: its kind and the server's or system's code. */
function causeOf(error: unknown): string {
  return `${errorKindOf(error)}:${codeOf(error)}`;
}

/** The code of an error or of the error it wraps; else its message. */
function codeOf(error: unknown): string {
  if (error instanceof DeadlineError) return 'deadline';
  const { code, cause, message } = (error ?? {}) as { code?: unknown; cause?: unknown; message?: unknown };
  if (typeof code === 'string') return code;
  if (cause !== undefined) return codeOf(cause);
  return String(message ?? error);
}

/** `text` ending with a full stop, as the first sentence of a longer message. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** What MetricEventsSpanProcessor noted about a span at its start. */
export type SpanHints = Pick<MappingOptions, 'inheritedSessionId' | 'inheritedUserId' | 'parentIsModelCall'>;

export class MetricEventsSpanExporter implements SpanExporter {
  /** Options from LLAMONITOR_* environment variables; options given here win. Throws ConfigError on a bad value. */
  static fromEnv(
    overrides: MetricEventsExporterOptions = {},
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): MetricEventsSpanExporter {
    return new MetricEventsSpanExporter(overrides, env);
  }

  /** @internal The exporter around a given sink (tests, the CLI). */
  static withSink(
    sink: Sink,
    options: MetricEventsExporterOptions = {},
    internals: ExporterInternals = {},
  ): MetricEventsSpanExporter {
    const exporter = new MetricEventsSpanExporter(options, {}, internals);
    exporter.sinkPromise = Promise.resolve(sink);
    return exporter;
  }

  private readonly options: ResolvedOptions;
  /** The prices rows are costed with: the bundled table, custom prices first. */
  private readonly prices: PriceTable;
  /** @internal The daily price updates, when `pricesAutoUpdate` is on. */
  readonly priceUpdates: PriceUpdates | undefined;
  /** @internal The hourly removal of old rows, when `retentionDays` is set. */
  readonly retention: PeriodicRun<PruneReport> | undefined;
  /** @internal The daily compaction of the Parquet dataset, when `parquetCompact` is on. */
  readonly compaction: PeriodicRun<CompactReport> | undefined;
  private sinkPromise: Promise<Sink> | undefined;
  private preparePromise: Promise<void> | undefined;
  private readonly slots: WriteSlots;
  /** When each batch in flight stops retrying and goes to the spill; shutdown brings them forward. */
  private readonly retryDeadlines = new Set<Deadline>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly spill: SpillStore;
  private readonly deadLetters: DeadLetterStore;
  private readonly replayer: Replayer;
  private readonly warnings: ConsoleWarnings;
  private inflightBytes = 0;
  /** The mapping of the last export taken: the next one is mapped after it. */
  private mappingLane: Promise<unknown> = Promise.resolve();
  private shutdownPromise: Promise<void> | undefined;
  /**
   * Set when an export ran out of retries for want of the sink, or found
   * settings that cannot work: later exports go straight to the spill, so that
   * the BatchSpanProcessor (one export at a time) is not held for a whole
   * export deadline per batch and made to drop spans. Cleared by the next
   * write that succeeds or health check that passes (the background replay's,
   * every few seconds while spill files exist; every minute for settings).
   */
  private sinkDown: SinkDown | undefined;
  /** When shutdown must be done by, once it began: retries end in time to spill and close before it. */
  private shutdownDeadline: number | undefined;
  /** After this moment a failed write is no longer tried again: shutdown began a while ago. */
  private retryAfterFailureUntil = Infinity;
  /** Counts the tokens of calls whose spans carry no usage; undefined when `estimateTokens` is off. */
  private readonly tokenEstimator: TokenEstimator | undefined;
  /** The GenAI metrics of the rows, when `metrics` is on. */
  private readonly metrics: RowMetrics | undefined;
  /** Pipelined exports whose write has not ended (exportPipelined). */
  private deliveries = 0;
  private readonly deliveryWaiters: (() => void)[] = [];
  /** @internal Set by MetricEventsSpanProcessor. */
  spanHints: ((span: ReadableSpan) => SpanHints | undefined) | undefined;

  /** Throws ConfigError when an option is not allowed; connects lazily, on the first export or ready(). */
  constructor(
    options: MetricEventsExporterOptions = {},
    env: Readonly<Record<string, string | undefined>> = {},
    /** @internal */
    internals: ExporterInternals = {},
  ) {
    this.options = resolveOptions(options, env);
    this.prices = priceTableOf(this.options);
    this.slots = new WriteSlots(this.options.poolSize);
    this.tokenEstimator = this.options.estimateTokens
      ? (internals.tokenEstimator ?? new TokenEstimator())
      : undefined;
    this.spill = new SpillStore(this.options.spillDir, this.options.spillMaxBytes, {
      fileMode: this.options.fileMode,
    });
    this.deadLetters = new DeadLetterStore(this.options.spillDir, this.options.fileMode);
    this.warnings = internals.warnings ?? new ConsoleWarnings(this.options.warnings);
    this.metrics = rowMetricsOf(this.options, this.warnings);
    if (this.options.pricesAutoUpdate) {
      this.priceUpdates = new PriceUpdates(this.warnings, internals.priceData);
      this.priceUpdates.start();
    }
    const preparedSink = async () => {
      await this.prepared();
      return this.sink();
    };
    if (this.options.retentionDays > 0) {
      this.retention = retentionRun(
        preparedSink,
        this.options.retentionDays,
        this.warnings,
        internals.retentionTiming,
      );
      this.retention.start();
    }
    if (this.options.parquetCompact) {
      this.compaction = compactionRun(preparedSink, this.warnings, internals.compactionTiming);
      this.compaction.start();
    }
    this.replayer = new Replayer(this.spill, {
      destination: { table: this.options.table, schema: this.options.schema },
      write: async (rows, signal) => {
        const release = await this.slots.acquire();
        try {
          await this.writeOnce(rows, signal);
        } finally {
          release();
        }
      },
      checkHealth: (signal) => this.checkHealth(signal),
      deadLetters: this.deadLetters,
      warn: (cause, message) => this.warnings.once(cause, message),
      timeoutMillis: this.options.exportTimeoutMillis,
      intervalMillis: internals.replayIntervalMillis,
      configurationRecheckMillis: internals.configurationRecheckMillis,
      retentionCutoff:
        this.options.retentionDays > 0
          ? () => retentionCutoff(this.options.retentionDays, Date.now())
          : undefined,
    });
  }

  /** @internal The options as resolved: code, then LLAMONITOR_* variables (fromEnv), then defaults. */
  get resolvedOptions(): ResolvedOptions {
    return this.options;
  }

  /** Resolves once the sink is connected and its table fits; rejects with the reason. */
  ready(): Promise<void> {
    return this.prepared();
  }

  /**
   * @internal Connects now, so that a setting that cannot work is heard of at
   * start-up: one console warning that says what to do and where rows go
   * meanwhile (the register entry calls it). A write failing later for the
   * same cause does not warn again.
   */
  connectInBackground(): void {
    this.ready().catch((error: unknown) => {
      const where =
        errorKindOf(error) === 'configuration'
          ? `Until this is fixed, rows go to the spill folder ${this.spill.directory}, checked again every ${CONFIGURATION_RECHECK_MILLIS / 1000} s.`
          : this.retryPlan();
      this.warnings.once(causeOf(error), `${(error as Error).message} ${where}`);
    });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let answered = false;
    const answer = (result: ExportResult) => {
      if (answered) return;
      answered = true;
      resultCallback(result);
    };
    try {
      if (this.shutdownPromise) {
        answer({
          code: ExportResultCode.FAILED,
          error: new Error('llamonitor-otel: export called after shutdown'),
        });
        return;
      }
      this.track(this.mapAndDeliver(spans)).then(answer, (error: unknown) =>
        answer({ code: ExportResultCode.FAILED, error: error as Error }),
      );
    } catch (error) {
      answer({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  /** Waits for every write in flight, then makes buffered rows visible (Parquet closes its open file). */
  async forceFlush(): Promise<void> {
    await this.settlePending();
    if (this.sinkPromise)
      await context.with(suppressTracing(context.active()), async () => (await this.sink()).flush());
  }

  /**
   * Stops taking exports, gives writes in flight until the shutdown deadline
   * (then spills their rows), and closes the sink; returns within
   * `shutdownTimeoutMillis` even when the sink hangs.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  /**
   * @internal Starts shutdown's clock while exports are still taken:
   * MetricEventsSpanProcessor calls it before its BatchSpanProcessor's last
   * flush, which calls shutdown() only once that flush is done; during an
   * outage, that flush would otherwise retry for the whole export deadline.
   */
  beginShutdown(): void {
    if (this.shutdownDeadline !== undefined) return;
    this.shutdownDeadline = Date.now() + this.options.shutdownTimeoutMillis;
    this.retryAfterFailureUntil = Date.now() + this.options.shutdownTimeoutMillis * SHUTDOWN_RETRY_SHARE;
    this.replayer.stop();
    this.priceUpdates?.stop();
    // Stops between two batches; doShutdown waits for it before the sink closes.
    for (const run of [this.retention, this.compaction]) if (run) this.track(run.stop());
    const retriesEnd = this.retriesEndBy();
    for (const retryDeadline of this.retryDeadlines) retryDeadline.lower(retriesEnd);
  }

  /** When retries must stop so that their rows can still be spilled before shutdown's deadline. */
  private retriesEndBy(): number {
    if (this.shutdownDeadline === undefined) return Infinity;
    return this.shutdownDeadline - Math.min(2_000, this.options.shutdownTimeoutMillis * 0.3);
  }

  private async doShutdown(): Promise<void> {
    this.beginShutdown();
    const deadline = this.shutdownDeadline as number;
    await withDeadline(this.settlePending(), deadline - Date.now(), 'pending writes').catch(
      (error: unknown) => log.error(`shutdown: ${(error as Error).message}`),
    );
    await this.tokenEstimator?.stop();
    await this.metrics
      ?.shutdown()
      .catch((error: unknown) => log.error(`shutdown: stopping the metrics: ${(error as Error).message}`));
    if (!this.sinkPromise) return;
    try {
      const sink = await withDeadline(this.sinkPromise, deadline - Date.now(), 'connecting the sink');
      await withDeadline(
        context.with(suppressTracing(context.active()), () => sink.close()),
        Math.max(0, deadline - Date.now()),
        `closing ${sink.target}`,
      );
    } catch (error) {
      log.error(`shutdown: ${(error as Error).message}`);
    }
  }

  /**
   * @internal MetricEventsSpanProcessor's way in. Resolves once the spans are
   * mapped and their write has begun, not once it ended: its
   * BatchSpanProcessor, which sends one export at a time, then hands over the
   * next batch while this one is written, so mapping overlaps writing and up
   * to `poolSize` writes are in flight (a further export waits here for one of
   * them, and the BatchSpanProcessor's queue takes the strain meanwhile). The
   * write's outcome is handled as for export(): retries, spill, dead letters;
   * rows lost all the same (the spill failing too) reach OpenTelemetry's
   * global error handler, as a failed export does. forceFlush and shutdown
   * wait for every write. Rejects only after shutdown.
   */
  async exportPipelined(spans: readonly ReadableSpan[]): Promise<void> {
    if (this.shutdownPromise) throw new Error('llamonitor-otel: export called after shutdown');
    const mapping = this.mapInTurn(spans);
    this.deliveries++;
    this.track(mapping.then((batch) => this.deliverMapped(batch)))
      .then(
        (result) => {
          if (result.code !== ExportResultCode.SUCCESS)
            globalErrorHandler(
              result.error ?? new Error('llamonitor-otel: rows could not be stored or spilled'),
            );
        },
        (error: unknown) => globalErrorHandler(error as Error),
      )
      .finally(() => {
        this.deliveries--;
        // Every waiter looks again: at forceFlush the BatchSpanProcessor sends all its batches at once.
        for (const wake of this.deliveryWaiters.splice(0)) wake();
      });
    await mapping;
    while (this.deliveries > this.options.poolSize) {
      await new Promise<void>((resolve) => this.deliveryWaiters.push(resolve));
    }
  }

  private async mapAndDeliver(spans: readonly ReadableSpan[]): Promise<ExportResult> {
    return this.deliverMapped(await this.mapInTurn(spans));
  }

  /**
   * Exports in flight are mapped one after another, in order: the first one's write starts while the
   * next is mapped, where slices taking turns would finish all their mappings at once, then all write.
   */
  private mapInTurn(spans: readonly ReadableSpan[]): Promise<MappedBatch> {
    const mapping = this.mappingLane.then(() => this.toRows(spans));
    this.mappingLane = mapping.catch(() => undefined);
    return mapping;
  }

  private deliverMapped(batch: MappedBatch): Promise<ExportResult> {
    if (batch.rows.length === 0) return Promise.resolve({ code: ExportResultCode.SUCCESS });
    return this.deliver(batch);
  }

  /**
   * Maps the spans in slices of MAPPING_SLICE_MILLIS, giving the event loop
   * back between slices; then has the tokens counted of the rows that need an
   * estimate (one request to the worker per export), then enriches: `enrich`
   * sees the row as it will be stored.
   */
  private async toRows(spans: readonly ReadableSpan[]): Promise<MappedBatch> {
    const rows: MetricEvent[] = [];
    const mappedSpans: ReadableSpan[] = [];
    const estimates: RowEstimate[] = [];
    const { spans: filter, captureContent, maxMeasuredBytes, enrich } = this.options;
    const prices = this.prices;
    let need: TokensToEstimate | undefined;
    let estimatedChars = 0;
    let notEstimated = 0;
    const estimateTokens = this.tokenEstimator
      ? (tokens: TokensToEstimate) => {
          need = tokens;
        }
      : undefined;
    let slices = new EventLoopSlices();
    for (const span of spans) {
      if (slices.due) await slices.giveBack();
      const hints = this.spanHints?.(span);
      const event = toMetricEvent(span, {
        spans: filter,
        captureContent,
        maxMeasuredBytes,
        prices,
        estimateTokens,
        ...hints,
      });
      if (need !== undefined) {
        const chars = (need.input?.text.length ?? 0) + (need.output?.text.length ?? 0);
        if (event && estimatedChars + chars <= MAX_ESTIMATED_CHARS_PER_EXPORT) {
          estimates.push({ index: rows.length, need });
          estimatedChars += chars;
        } else if (event) notEstimated++;
        need = undefined;
      }
      if (!event) continue;
      rows.push(event);
      if (enrich) mappedSpans.push(span);
    }
    if (notEstimated > 0) {
      log.debug(
        `${notEstimated} rows of one export are stored without estimated tokens: their text passed the ${MAX_ESTIMATED_CHARS_PER_EXPORT} characters one export may send to be counted`,
      );
    }
    if (estimates.length > 0) await this.completeEstimates(rows, estimates, prices);
    if (enrich) {
      slices = new EventLoopSlices();
      for (let i = 0; i < rows.length; i++) {
        if (slices.due) await slices.giveBack();
        rows[i] = this.enriched(enrich, mappedSpans[i]!, rows[i]!);
      }
    }
    // As stored: every row is written or spilled from here on, so the series agree with the table.
    this.metrics?.record(rows);
    let bytes = 0;
    for (const row of rows) bytes += estimateRowBytes(row);
    return { rows, bytes };
  }

  /**
   * Completes the rows whose tokens the worker counted in time; the others
   * keep their null tokens (one warning says why).
   */
  private async completeEstimates(
    rows: MetricEvent[],
    estimates: readonly RowEstimate[],
    prices: PriceTable,
  ): Promise<void> {
    const estimator = this.tokenEstimator as TokenEstimator;
    const timeoutMillis = this.estimateTimeoutMillis();
    try {
      const counts = await estimator.estimate(
        estimates.map((estimate) => estimate.need),
        timeoutMillis,
      );
      if (counts.every((count) => count === undefined)) {
        this.warnings.once(
          'token-estimate-timeout',
          `counting the tokens of ${estimates.length} rows took longer than ${timeoutMillis} ms; they are stored without tokens (estimateTokens: false turns estimation off)`,
        );
      }
      estimates.forEach(({ index, need }, i) => {
        const count = counts[i];
        if (count !== undefined) rows[index] = withEstimatedTokens(rows[index]!, need, count, prices);
      });
    } catch (error) {
      this.warnings.once(
        'token-estimate-failed',
        `could not count the tokens of rows whose spans carry no usage; they are stored without tokens: ${(error as Error).message}`,
      );
    }
  }

  /** How long an export waits for token counts: a share of its deadline, and less once shutdown began. */
  private estimateTimeoutMillis(): number {
    const share = Math.min(ESTIMATE_MAX_MILLIS, this.options.exportTimeoutMillis * ESTIMATE_SHARE);
    if (this.shutdownDeadline === undefined) return share;
    return Math.max(0, Math.min(share, (this.shutdownDeadline - Date.now()) * ESTIMATE_SHARE));
  }

  private enriched(
    enrich: NonNullable<ResolvedOptions['enrich']>,
    span: ReadableSpan,
    event: MetricEvent,
  ): MetricEvent {
    try {
      const copy = structuredClone(event);
      return fitRow((enrich(span, copy) ?? copy) as unknown as Record<string, unknown>);
    } catch (error) {
      log.warn(
        `enrich failed for span ${span.spanContext().spanId}; the row is kept as mapped: ${String(error)}`,
      );
      return event;
    }
  }

  private async deliver({ rows, bytes }: MappedBatch): Promise<ExportResult> {
    if (this.inflightBytes + bytes > this.options.maxInflightBytes) {
      const reason = `rows in flight would pass maxInflightBytes (${this.options.maxInflightBytes})`;
      return this.spillRows(rows, reason, 'max-inflight-bytes');
    }
    if (this.sinkDown !== undefined) {
      return this.spillRows(
        rows,
        `the sink has been failing since ${this.sinkDown.since}; batches go straight to the spill until it answers again`,
        this.sinkDown.cause,
      );
    }
    this.inflightBytes += bytes;
    const retryDeadline = new Deadline(
      Math.min(Date.now() + this.options.exportTimeoutMillis * RETRY_SHARE, this.retriesEndBy()),
    );
    this.retryDeadlines.add(retryDeadline);
    try {
      const { refused, unwritten, failure } = await this.writeBatch(rows, retryDeadline);
      // Both can happen: the search for refused rows can meet an outage on its way.
      const kept = refused.length > 0 ? await this.deadLetter(refused, rows.length) : undefined;
      const spilled = failure !== undefined ? await this.spillAfterFailure(unwritten, failure) : undefined;
      return (
        [kept, spilled].find((r) => r?.code === ExportResultCode.FAILED) ?? { code: ExportResultCode.SUCCESS }
      );
    } finally {
      this.retryDeadlines.delete(retryDeadline);
      retryDeadline.dispose();
      this.inflightBytes -= bytes;
    }
  }

  /** Writes rows with retries; when the store refuses some of them, splits the batch to store the others. */
  private async writeBatch(rows: readonly MetricEvent[], deadline: Deadline): Promise<SplitResult> {
    const outcome = await this.writeWithRetries(rows, deadline);
    switch (outcome.kind) {
      case 'stored':
        return { refused: [], unwritten: [], failure: undefined };
      case 'failed':
        return { refused: [], unwritten: [...rows], failure: outcome.error };
      case 'refused-data':
        log.debug(`the sink refused a batch of ${rows.length} rows; splitting it to find the refused rows`);
        return storeAroundRefusals(rows, outcome.error, (part) => this.writeWithRetries(part, deadline));
    }
  }

  /**
   * Retries while the store is away, until the deadline (or, once shutdown
   * began, a short while); settings that cannot work and refused rows end it at
   * once, since a retry fails the same way.
   */
  private async writeWithRetries(rows: readonly MetricEvent[], deadline: Deadline): Promise<PartOutcome> {
    let lastError = 'the deadline passed before a write could start';
    let lastFailure: string | undefined;
    let lastCause: unknown;
    for (let attempt = 1; deadline.millisLeft > 0; attempt++) {
      const release = await this.slotBefore(deadline);
      if (!release) break;
      const attemptAbort = new AbortController();
      try {
        await deadline.race(this.writeOnce(rows, attemptAbort.signal), 'the write');
        if (attempt > 1) log.info(`wrote ${rows.length} rows after ${attempt} attempts`);
        return { kind: 'stored' };
      } catch (error) {
        // A write still running past the deadline gives up its connection rather than hold it until TCP gives up.
        attemptAbort.abort(error);
        const kind = errorKindOf(error);
        if (kind === 'refused-data') return { kind, error: error as Error };
        if (kind === 'configuration') return { kind: 'failed', error: error as Error };
        const reason = (error as Error).message;
        // A deadline that cuts a retry short says less than the failure that made the retry needed.
        const cutShort = error instanceof DeadlineError && lastFailure !== undefined;
        lastError = cutShort ? `${lastFailure} (then ${reason})` : reason;
        if (!(error instanceof DeadlineError)) lastFailure = reason;
        if (!cutShort) lastCause = error;
        const message = `write of ${plural(rows.length, 'row')} failed (attempt ${attempt}): ${lastError}`;
        // The first failure is news, once per cause; the retries after it are not.
        if (attempt === 1) this.warnings.once(causeOf(error), `${sentence(message)} ${this.retryPlan()}`);
        else log.debug(message);
      } finally {
        release();
      }
      if (Date.now() >= this.retryAfterFailureUntil) break;
      await deadline.sleep(Math.min(backoffDelayMillis(attempt), this.retryAfterFailureUntil - Date.now()));
      if (Date.now() >= this.retryAfterFailureUntil) break;
    }
    const sink = this.sinkPromise ? await this.sinkPromise.catch(() => undefined) : undefined;
    const target = sink?.target ?? this.options.target.kind;
    const within = this.shutdownDeadline === undefined ? 'within the export deadline' : 'before shutdown';
    return {
      kind: 'failed',
      error: new ConnectionError(
        `could not write ${plural(rows.length, 'row')} to ${target} ${within}: ${lastError}`,
        {
          cause: lastCause ?? new DeadlineError('waiting for a free write slot', 0),
        },
      ),
    };
  }

  /** What becomes of rows whose write failed, for the first failure's warning. */
  private retryPlan(): string {
    const { exportTimeoutMillis, shutdownTimeoutMillis } = this.options;
    const seconds = (millis: number) => `${Math.round(millis / 100) / 10} s`;
    const retrying =
      this.shutdownDeadline === undefined
        ? `Retrying for up to ${seconds(exportTimeoutMillis * RETRY_SHARE)}`
        : `Retrying for up to ${seconds(shutdownTimeoutMillis * SHUTDOWN_RETRY_SHARE)}, as the application is shutting down`;
    return (
      `${retrying}; rows not written by then go to the spill folder ${this.spill.directory} ` +
      `and are replayed once the sink answers.`
    );
  }

  /** A write slot before the deadline, or undefined; a slot that comes after it is given straight back. */
  private async slotBefore(deadline: Deadline): Promise<(() => void) | undefined> {
    const acquiring = this.slots.acquire();
    try {
      return await deadline.race(acquiring, 'waiting for a free write slot');
    } catch {
      // Dropped, the late slot would be lost for good: after poolSize of them every export spills.
      void acquiring.then((release) => release());
      return undefined;
    }
  }

  /** One attempt: the sink prepared, the rows written, with tracing suppressed so drivers do not trace us. */
  private writeOnce(rows: readonly MetricEvent[], signal?: AbortSignal): Promise<void> {
    return context.with(suppressTracing(context.active()), async () => {
      await this.prepared();
      await (await this.sink()).write(rows, signal);
      this.sinkAnswered();
    });
  }

  private sinkAnswered(): void {
    if (this.sinkDown === undefined) return;
    log.info(`the sink answers again (failing since ${this.sinkDown.since}): exports write to it again`);
    this.sinkDown = undefined;
  }

  /** The replay's health check: the sink prepared first, since a table missing until then is no sign of ill health. */
  private checkHealth(signal?: AbortSignal): Promise<void> {
    return context.with(suppressTracing(context.active()), async () => {
      await this.prepared();
      await (await this.sink()).checkHealth(signal);
      this.sinkAnswered();
    });
  }

  /** Spills rows a write could not store, and sends later exports to the spill while the sink is failing. */
  private async spillAfterFailure(rows: readonly MetricEvent[], failure: Error): Promise<ExportResult> {
    const cause = causeOf(failure);
    if (errorKindOf(failure) === 'configuration') this.replayer.recheckSlowly();
    if (this.sinkDown === undefined && this.shutdownDeadline === undefined) {
      this.sinkDown = { since: new Date().toISOString(), cause };
      log.debug(
        `the sink is failing (${failure.message}): later exports go straight to the spill until it answers again`,
      );
    }
    return this.spillRows(rows, failure.message, cause);
  }

  /**
   * Writes rows durably to the spill; SUCCESS once they are. `cause` keys the
   * console warning: the first spill of each cause is printed, later ones go to diag.
   */
  private async spillRows(
    rows: readonly MetricEvent[],
    reason: string,
    cause: string,
  ): Promise<ExportResult> {
    try {
      const name = await this.spill.store(
        rows,
        { table: this.options.table, schema: this.options.schema },
        reason,
      );
      const where = `${this.spill.directory}/${name}`;
      const after = cause.startsWith('configuration:')
        ? `later batches go there at once, and the settings are checked again every ${CONFIGURATION_RECHECK_MILLIS / 1000} s ` +
          `(or run \`llamonitor replay\` once they are fixed)`
        : 'they are replayed once the sink answers';
      this.warnings.once(
        cause,
        `${sentence(reason)} ${plural(rows.length, 'row')} spilled to ${where}; ${after}.`,
      );
      this.replayer.wake();
      return { code: ExportResultCode.SUCCESS };
    } catch (error) {
      const message = `${reason}; and spilling them to ${this.spill.directory} failed too: ${(error as Error).message}`;
      // The processor hands a FAILED result's error to OpenTelemetry's error handler (diag.error): no second line here.
      this.warnings.once(
        `spill-failed:${causeOf(error)}`,
        `${sentence(message)} ${plural(rows.length, 'row')} lost.`,
      );
      return { code: ExportResultCode.FAILED, error: new Error(`llamonitor-otel: ${message}`) };
    }
  }

  /** Keeps refused rows in the dead-letter folder; SUCCESS once they are durable. */
  private async deadLetter(refused: readonly RefusedRow[], batchRows: number): Promise<ExportResult> {
    const first = refused[0] as RefusedRow;
    const summary =
      `the sink refused ${refused.length} of ${plural(batchRows, 'row')} (${first.error}); ` +
      `the other ${batchRows - refused.length} were stored`;
    try {
      const destination = { table: this.options.table, schema: this.options.schema };
      const name = await this.deadLetters.store(refused, destination, 'export');
      this.warnings.once(
        `refused-data:${first.code ?? first.error}`,
        `${summary}; the refused ${refused.length === 1 ? 'row is' : 'rows are'} kept with the server's error in ` +
          `${this.deadLetters.directory}/${name} and not written again.`,
      );
      return { code: ExportResultCode.SUCCESS };
    } catch (error) {
      const message = `${summary}; and keeping the refused rows in ${this.deadLetters.directory} failed: ${(error as Error).message}`;
      this.warnings.once(
        `dead-letter-failed:${causeOf(error)}`,
        `${sentence(message)} ${plural(refused.length, 'row')} lost.`,
      );
      return { code: ExportResultCode.FAILED, error: new Error(`llamonitor-otel: ${message}`) };
    }
  }

  private sink(): Promise<Sink> {
    if (!this.sinkPromise) {
      const created = createSink(this.options);
      this.sinkPromise = created;
      // A sink that could not be created (a driver missing) is tried again by the next write.
      created.catch(() => {
        if (this.sinkPromise === created) this.sinkPromise = undefined;
      });
    }
    return this.sinkPromise;
  }

  /** Prepares the sink once; a failed preparation is tried again by the next write. */
  private prepared(): Promise<void> {
    if (!this.preparePromise) {
      const preparing = this.sink().then(async (sink) => {
        await sink.prepare();
        this.replayer.wake();
      });
      this.preparePromise = preparing;
      preparing.catch(() => {
        if (this.preparePromise === preparing) this.preparePromise = undefined;
      });
    }
    return this.preparePromise;
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const forget = () => this.pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  private async settlePending(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
