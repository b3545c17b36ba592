/**
 * The exporter's lifecycle: export, the writes in flight, forceFlush, shutdown.
 * It maps spans with the pure `toMetricEvent`, hands rows to a sink, retries
 * with backoff until the export's deadline, and spills what still fails to disk
 * so that a database outage costs no row. The mapping lives in mapping/, the
 * I/O in sinks/ and spill/.
 */
import { context, diag } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { resolveOptions, type MetricEventsExporterOptions, type ResolvedOptions } from '../config/options.js';
import { createSink } from '../config/create-sink.js';
import { toMetricEvent } from '../mapping/to-metric-event.js';
import type { MappingOptions } from '../mapping/span-like.js';
import type { MetricEvent } from '../schema/columns.js';
import { fitRow } from '../schema/fit-row.js';
import type { Sink } from '../sinks/sink.js';
import { SpillStore } from '../spill/spill-store.js';
import { backoffDelayMillis } from './retry-policy.js';
import { estimateRowBytes } from './row-bytes.js';
import { Replayer } from './replayer.js';
import { WriteSlots } from './write-slots.js';
import { Deadline, DeadlineError, withDeadline } from './deadline.js';

const log = diag.createComponentLogger({ namespace: 'llamonitor-otel' });

/** Share of an export's deadline spent on retries; the rest is kept for the spill. */
const RETRY_SHARE = 0.8;
/**
 * Longest the mapping holds the event loop before giving it back: a batch of
 * 512 spans takes several times this, which would stall the application's
 * timers and I/O for that long (bench: event_loop_p99_ms_*).
 */
const MAPPING_SLICE_MILLIS = 2;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Rows mapped from one export, and the memory they hold (the cap on writes in flight counts it). */
interface MappedBatch {
  readonly rows: MetricEvent[];
  readonly bytes: number;
}

/** @internal Settings no user needs, for tests that cannot wait for the defaults. */
export interface ExporterInternals {
  /** Wait before a background replay pass (default 5 s). */
  readonly replayIntervalMillis?: number;
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
  private sinkPromise: Promise<Sink> | undefined;
  private preparePromise: Promise<void> | undefined;
  private readonly slots: WriteSlots;
  /** When each batch in flight stops retrying and goes to the spill; shutdown brings them forward. */
  private readonly retryDeadlines = new Set<Deadline>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly spill: SpillStore;
  private readonly replayer: Replayer;
  private inflightBytes = 0;
  /** The mapping of the last export taken: the next one is mapped after it. */
  private mappingLane: Promise<unknown> = Promise.resolve();
  private shutdownPromise: Promise<void> | undefined;
  /**
   * Set when an export ran out of retries for want of the sink: later exports
   * go straight to the spill, so that the BatchSpanProcessor (one export at a
   * time) is not held for a whole export deadline per batch and made to drop
   * spans. Cleared by the next write that succeeds or health check that passes
   * (the background replay's, every few seconds while spill files exist).
   */
  private sinkDownSince: string | undefined;
  /** When shutdown must be done by, once it began: retries end in time to spill and close before it. */
  private shutdownDeadline: number | undefined;
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
    this.slots = new WriteSlots(this.options.poolSize);
    this.spill = new SpillStore(this.options.spillDir, this.options.spillMaxBytes);
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
      timeoutMillis: this.options.exportTimeoutMillis,
      intervalMillis: internals.replayIntervalMillis,
    });
  }

  /** Resolves once the sink is connected and its table fits; rejects with the reason. */
  ready(): Promise<void> {
    return this.prepared();
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
    this.replayer.stop();
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

  private async mapAndDeliver(spans: readonly ReadableSpan[]): Promise<ExportResult> {
    // Exports in flight are mapped one after another, in order: the first one's write starts while the
    // next is mapped, where slices taking turns would finish all their mappings at once, then all write.
    const mapping = this.mappingLane.then(() => this.toRows(spans));
    this.mappingLane = mapping.catch(() => undefined);
    const batch = await mapping;
    if (batch.rows.length === 0) return { code: ExportResultCode.SUCCESS };
    return this.deliver(batch);
  }

  /** Maps the spans in slices of MAPPING_SLICE_MILLIS, giving the event loop back between slices. */
  private async toRows(spans: readonly ReadableSpan[]): Promise<MappedBatch> {
    const rows: MetricEvent[] = [];
    let bytes = 0;
    const { spans: filter, captureContent, maxMeasuredBytes, enrich } = this.options;
    let sliceEnd = performance.now() + MAPPING_SLICE_MILLIS;
    for (const span of spans) {
      if (performance.now() > sliceEnd) {
        await yieldToEventLoop();
        sliceEnd = performance.now() + MAPPING_SLICE_MILLIS;
      }
      const hints = this.spanHints?.(span);
      const event = toMetricEvent(span, { spans: filter, captureContent, maxMeasuredBytes, ...hints });
      if (!event) continue;
      const row = enrich ? this.enriched(enrich, span, event) : event;
      rows.push(row);
      bytes += estimateRowBytes(row);
    }
    return { rows, bytes };
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
      return this.spillRows(
        rows,
        `rows in flight would pass maxInflightBytes (${this.options.maxInflightBytes})`,
      );
    }
    if (this.sinkDownSince !== undefined) {
      return this.spillRows(
        rows,
        `the sink has been failing since ${this.sinkDownSince}; batches go straight to the spill until it answers again`,
      );
    }
    this.inflightBytes += bytes;
    const retryDeadline = new Deadline(
      Math.min(Date.now() + this.options.exportTimeoutMillis * RETRY_SHARE, this.retriesEndBy()),
    );
    this.retryDeadlines.add(retryDeadline);
    try {
      const failure = await this.writeWithRetries(rows, retryDeadline);
      if (failure === undefined) return { code: ExportResultCode.SUCCESS };
      if (this.sinkDownSince === undefined && this.shutdownDeadline === undefined) {
        this.sinkDownSince = new Date().toISOString();
        log.warn(
          `the sink is failing (${failure}): later exports go straight to the spill until it answers again`,
        );
      }
      return await this.spillRows(rows, failure);
    } finally {
      this.retryDeadlines.delete(retryDeadline);
      retryDeadline.dispose();
      this.inflightBytes -= bytes;
    }
  }

  /** Retries until the deadline; resolves undefined once written, else the reason it failed. */
  private async writeWithRetries(
    rows: readonly MetricEvent[],
    deadline: Deadline,
  ): Promise<string | undefined> {
    let lastError = 'the deadline passed before a write could start';
    let lastFailure: string | undefined;
    for (let attempt = 1; deadline.millisLeft > 0; attempt++) {
      const release = await this.slotBefore(deadline);
      if (!release) break;
      const attemptAbort = new AbortController();
      try {
        await deadline.race(this.writeOnce(rows, attemptAbort.signal), 'the write');
        if (attempt > 1) log.info(`wrote ${rows.length} rows after ${attempt} attempts`);
        return undefined;
      } catch (error) {
        // A write still running past the deadline gives up its connection rather than hold it until TCP gives up.
        attemptAbort.abort(error);
        const reason = (error as Error).message;
        // A deadline that cuts a retry short says less than the failure that made the retry needed.
        const cutShort = error instanceof DeadlineError && lastFailure !== undefined;
        lastError = cutShort ? `${lastFailure} (then ${reason})` : reason;
        if (!(error instanceof DeadlineError)) lastFailure = reason;
        // The first failure is news; the retries after it are not, until the deadline says what became of the rows.
        const message = `write of ${rows.length} rows failed (attempt ${attempt}): ${lastError}`;
        if (attempt === 1) log.warn(message);
        else log.debug(message);
      } finally {
        release();
      }
      await deadline.sleep(backoffDelayMillis(attempt));
    }
    const sink = this.sinkPromise ? await this.sinkPromise.catch(() => undefined) : undefined;
    return `could not write ${rows.length} rows to ${sink?.target ?? this.options.target.kind} within the export deadline: ${lastError}`;
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
    if (this.sinkDownSince === undefined) return;
    log.info(`the sink answers again (failing since ${this.sinkDownSince}): exports write to it again`);
    this.sinkDownSince = undefined;
  }

  /** The replay's health check: the sink prepared first, since a table missing until then is no sign of ill health. */
  private checkHealth(signal?: AbortSignal): Promise<void> {
    return context.with(suppressTracing(context.active()), async () => {
      await this.prepared();
      await (await this.sink()).checkHealth(signal);
      this.sinkAnswered();
    });
  }

  private async spillRows(rows: readonly MetricEvent[], reason: string): Promise<ExportResult> {
    try {
      const name = await this.spill.store(
        rows,
        { table: this.options.table, schema: this.options.schema },
        reason,
      );
      log.warn(`spilled ${rows.length} rows to ${this.spill.directory}/${name}: ${reason}`);
      this.replayer.wake();
      return { code: ExportResultCode.SUCCESS };
    } catch (error) {
      const message = `${reason}; and spilling them to ${this.spill.directory} failed too: ${(error as Error).message}`;
      log.error(message);
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
