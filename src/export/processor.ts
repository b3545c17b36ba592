/**
 * The BatchSpanProcessor with the exporter inside, plus what a plain processor
 * cannot do: carry a session and a user down its trace. Instrumentations often
 * set them on some spans only (the Vercel AI SDK 7 on `invoke_agent` and
 * `step`, not on their `chat` and `execute_tool` children); at each span's
 * start this notes what it inherits, and the exporter puts it in the row of a
 * child that has none, without changing the spans other processors see. And
 * it writes a row for a model call whose span its instrumentation never ends
 * (open-calls.ts). Its exports are pipelined (PipelinedExport): the next
 * batch is mapped while earlier ones are written.
 */
import type { Attributes, Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  BatchSpanProcessor,
  type BufferConfig,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { MetricEventsExporterOptions } from '../config/options.js';
import { isModelCall, isModelOrEmbeddingCall } from '../mapping/operation-type.js';
import { namesNoIdentity } from '../mapping/identity-keys.js';
import { resourceSessionId, sessionIdFromAttributes } from '../mapping/session-id.js';
import { userIdFromAttributes } from '../mapping/user-id.js';
import { ConsoleWarnings } from '../warnings.js';
import { MetricEventsSpanExporter, type SpanHints } from './exporter.js';
import { LlmSpanWatch } from './llm-span-watch.js';
import { OpenCalls, type SetInterval } from './open-calls.js';
import {
  NO_IDENTITY,
  SpanNotes,
  eitherIdentity,
  type NotedSpan,
  type SpanIdentity,
  type SpanNote,
} from './span-notes.js';

/** Spans whose notes are kept at most; about 250 bytes each. */
const MAX_NOTES = 100_000;

export interface MetricEventsSpanProcessorOptions extends MetricEventsExporterOptions {
  /** An exporter built elsewhere; by default one is built from these options and LLAMONITOR_* variables. */
  exporter?: MetricEventsSpanExporter;
  /**
   * BatchSpanProcessor settings; unset ones come from OTEL_BSP_* variables, then OpenTelemetry's
   * defaults, except the queue: DEFAULT_MAX_QUEUE_SIZE (8,192) rather than 2,048.
   */
  batch?: BufferConfig;
}

/**
 * The queue a BatchSpanProcessor holds while one export is out. OpenTelemetry's
 * 2,048 lasts 0.4 s at 5,000 spans a second, and one slow database write (seen:
 * 0.4 to 0.5 s on a busy server) then makes it drop spans; 8,192 lasts 1.6 s.
 * OTEL_BSP_MAX_QUEUE_SIZE or `batch.maxQueueSize` still decide when set.
 */
export const DEFAULT_MAX_QUEUE_SIZE = 8_192;

function withQueueDefault(batch: BufferConfig | undefined): BufferConfig {
  if (batch?.maxQueueSize !== undefined || process.env.OTEL_BSP_MAX_QUEUE_SIZE) return { ...batch };
  return { ...batch, maxQueueSize: DEFAULT_MAX_QUEUE_SIZE };
}

/** @internal Parts a test replaces. */
export interface ProcessorInternals {
  /** The check that LLM spans arrive (default: one with a real timer and the console warnings). */
  readonly llmSpanWatch?: LlmSpanWatch;
  /** The clock and the sweep timer of the watch on model calls never ended. */
  readonly now?: () => number;
  readonly setInterval?: SetInterval;
}

/**
 * A resource's attributes once they have settled, else undefined. NodeSDK's resource detectors leave
 * some attributes pending for a while, and reading them then logs an error each time (67 for 24
 * spans); the row loses nothing, since the mapping reads the resource again at export, once settled.
 */
function settledResourceAttributes(span: NotedSpan): Attributes | undefined {
  const resource = span.resource;
  return resource === undefined || resource.asyncAttributesPending === true ? undefined : resource.attributes;
}

/** The session and the user a span names itself. */
function identityOf(span: NotedSpan): SpanIdentity {
  const resource = settledResourceAttributes(span);
  if (namesNoIdentity(span.attributes)) {
    const session = resource === undefined ? undefined : resourceSessionId(resource);
    return session === undefined ? NO_IDENTITY : { session, user: undefined };
  }
  const session = sessionIdFromAttributes(span.attributes, resource);
  const user = userIdFromAttributes(span.attributes);
  return session === undefined && user === undefined ? NO_IDENTITY : { session, user };
}

function parentSpanIdOf(span: Span | ReadableSpan): string | undefined {
  const sdk2 = (span as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId;
  return sdk2 ?? (span as { parentSpanId?: string }).parentSpanId;
}

/**
 * The exporter as the BatchSpanProcessor sees it: an export is done once its
 * rows are mapped and their write began (exportPipelined), so that the next
 * batch is mapped while this one is written and several writes are in
 * flight; the BatchSpanProcessor itself sends one export at a time.
 */
class PipelinedExport implements SpanExporter {
  constructor(private readonly exporter: MetricEventsSpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.exporter.exportPipelined(spans).then(
      () => resultCallback({ code: ExportResultCode.SUCCESS }),
      (error: unknown) => resultCallback({ code: ExportResultCode.FAILED, error: error as Error }),
    );
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }
}

export class MetricEventsSpanProcessor implements SpanProcessor {
  readonly exporter: MetricEventsSpanExporter;
  private readonly batch: BatchSpanProcessor;
  private readonly notes = new SpanNotes(MAX_NOTES);
  private readonly llmSpanWatch: LlmSpanWatch;
  private readonly openCalls: OpenCalls;

  constructor(
    options: MetricEventsSpanProcessorOptions = {},
    /** @internal */
    internals: ProcessorInternals = {},
  ) {
    const { exporter, batch, ...exporterOptions } = options;
    this.exporter = exporter ?? MetricEventsSpanExporter.fromEnv(exporterOptions);
    this.exporter.spanHints = (span) => this.hintsFor(span);
    this.batch = new BatchSpanProcessor(new PipelinedExport(this.exporter), withQueueDefault(batch));
    this.llmSpanWatch =
      internals.llmSpanWatch ?? new LlmSpanWatch(new ConsoleWarnings(this.exporter.resolvedOptions.warnings));
    this.llmSpanWatch.start();
    const { danglingSpanTimeoutMillis, maxOpenSpans } = this.exporter.resolvedOptions;
    this.openCalls = new OpenCalls({
      timeoutMillis: danglingSpanTimeoutMillis,
      maxOpen: maxOpenSpans,
      hand: (span) => this.batch.onEnd(span),
      isCall: (span) => isModelOrEmbeddingCall(span.name, span.attributes),
      now: internals.now,
      setInterval: internals.setInterval,
    });
  }

  /** @internal Spans watched for a row should their instrumentation never end them: open model calls, and spans started since the last sweep. */
  get watchedOpenSpans(): number {
    return this.openCalls.size;
  }

  onStart(span: Span, parentContext: Context): void {
    const parentId = parentSpanIdOf(span);
    const parent = parentId === undefined ? undefined : this.notes.get(parentId);
    const parentSpan = parent?.span.deref();
    this.notes.set(span.spanContext().spanId, {
      span: new WeakRef(span),
      inherited: parent ? this.identityOfNoted(parent) : NO_IDENTITY,
      own: identityOf(span),
      parentIsModelCall: parentSpan !== undefined && isModelCall(parentSpan.name, parentSpan.attributes),
    });
    this.openCalls.started(span);
    this.batch.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    const note = this.notes.get(span.spanContext().spanId);
    if (note) note.own = eitherIdentity(identityOf(span), note.own);
    this.llmSpanWatch.onEnd(span);
    this.openCalls.ended(span);
    this.batch.onEnd(span);
  }

  /** Exports every ended span, then makes the rows visible (Parquet closes its open file). */
  async forceFlush(): Promise<void> {
    await this.batch.forceFlush();
    await this.exporter.forceFlush();
  }

  /** Flushes, then shuts the exporter down, all within the exporter's shutdown deadline counted from now. */
  shutdown(): Promise<void> {
    this.llmSpanWatch.atShutdown();
    // Before the batch processor's shutdown, which exports what it holds and takes nothing after.
    this.openCalls.endAll();
    this.exporter.beginShutdown();
    return this.batch.shutdown();
  }

  /** What a noted span hands down: its own session and user as they are now, else what it inherited. */
  private identityOfNoted(note: SpanNote): SpanIdentity {
    const live: NotedSpan | undefined = note.span.deref();
    const own = live ? eitherIdentity(identityOf(live), note.own) : note.own;
    return eitherIdentity(own, note.inherited);
  }

  private hintsFor(span: ReadableSpan): SpanHints | undefined {
    const note = this.notes.get(span.spanContext().spanId);
    if (!note) return undefined;
    return {
      inheritedSessionId: note.inherited.session,
      inheritedUserId: note.inherited.user,
      parentIsModelCall: note.parentIsModelCall,
    };
  }
}
