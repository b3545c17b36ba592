/**
 * Model calls whose span started and never ended. OpenLLMetry and
 * OpenInference never end the span of a call that fails with a 429 or a 500
 * (docs/instrumentations.md), so no exporter receives it and a rate-limit storm
 * reads as no error at all. MetricEventsSpanProcessor sees those spans start:
 * this keeps each started model-call span until it ends, and hands on a copy,
 * ended now and marked (mapping/span-like.ts SPAN_NOT_ENDED), of one that did
 * not end within `timeoutMillis`, within a short grace period after the local
 * root of its trace ended, or before shutdown. Its row says the span was never
 * ended; if the span ends later after all, its real row replaces that one in
 * PostgreSQL and MySQL (each sink's conflict path) and sits beside it in Parquet.
 *
 * Which spans are model calls is told by their attributes, which some
 * instrumentations set just after the start (OpenInference's OITracer): every
 * span is noted at its start, and those that are no model call by the next
 * sweep are let go. The spans are held strongly (an instrumentation that gave
 * up on a call drops its span), so their number is capped: past `maxOpen`,
 * new spans are not watched, and counted.
 */
import { SpanStatusCode, diag, type HrTime } from '@opentelemetry/api';
import type { ReadableSpan, Span } from '@opentelemetry/sdk-trace-base';
import { SPAN_NOT_ENDED } from '../mapping/span-like.js';
import { UNENDED_ERROR } from '../schema/unended-calls.js';

/** After the local root of its trace ended, a call still open gets this long at most to end. */
export const GRACE_AFTER_ROOT_MILLIS = 30_000;
/** Sweeps run this often at most, and at least once a second. */
const MIN_SWEEP_MILLIS = 10;
const MAX_SWEEP_MILLIS = 1_000;

/** Starts a repeating timer that does not keep the process alive; returns what stops it. */
export type SetInterval = (callback: () => void, periodMillis: number) => () => void;

const unrefInterval: SetInterval = (callback, periodMillis) => {
  const timer = setInterval(callback, periodMillis);
  timer.unref();
  return () => clearInterval(timer);
};

export interface OpenCallsOptions {
  /** How long a model-call span may stay open before its row is written without it; 0: never. */
  readonly timeoutMillis: number;
  /** Open spans watched at most. */
  readonly maxOpen: number;
  /** Receives the copy, ended now, of a span that was never ended. */
  readonly hand: (span: ReadableSpan) => void;
  /** Whether a span is a model call, from what it holds now. */
  readonly isCall: (span: Span) => boolean;
  /** Test seams: the clock (epoch milliseconds) and the sweep timer. */
  readonly now?: () => number;
  readonly setInterval?: SetInterval;
}

interface OpenCall {
  readonly span: Span;
  readonly traceId: string;
  deadline: number;
  /** Known to be a model call; until then, checked at each sweep and let go when it is not. */
  isCall: boolean;
}

export class OpenCalls {
  private readonly open = new Map<string, OpenCall>();
  /**
   * When each local root ended since the last sweep, by trace id: the sweep shortens the deadline
   * of the calls still open in that trace. Noted per trace rather than kept per span: most spans
   * end before a sweep, and an index of open spans by trace would cost every span two updates.
   */
  private readonly rootsEnded = new Map<string, number>();
  private readonly now: () => number;
  private readonly graceMillis: number;
  private readonly sweepMillis: number;
  private stopSweeps: (() => void) | undefined;
  private unwatched = 0;

  constructor(private readonly options: OpenCallsOptions) {
    this.now = options.now ?? Date.now;
    this.graceMillis = Math.min(GRACE_AFTER_ROOT_MILLIS, options.timeoutMillis);
    this.sweepMillis = Math.min(MAX_SWEEP_MILLIS, Math.max(MIN_SWEEP_MILLIS, this.graceMillis / 4));
  }

  get enabled(): boolean {
    return this.options.timeoutMillis > 0;
  }

  /** Spans watched now: the open model calls, and spans started since the last sweep. */
  get size(): number {
    return this.open.size;
  }

  /** Spans not watched because `maxOpen` were. */
  get notWatched(): number {
    return this.unwatched;
  }

  /** Watches a span that just started, until it ends or is found to be no model call. */
  started(span: Span): void {
    if (!this.enabled) return;
    if (this.open.size >= this.options.maxOpen) {
      if (this.unwatched++ === 0) {
        diag.debug(
          `llamonitor: ${this.options.maxOpen} spans are watched (maxOpenSpans); calls started from now ` +
            'on get no row if their instrumentation never ends their span',
        );
      }
      return;
    }
    const { traceId, spanId } = span.spanContext();
    const deadline = this.now() + this.options.timeoutMillis;
    // Told at the first sweep that finds it open: most spans end before, and cost no more than this.
    this.open.set(spanId, { span, traceId, deadline, isCall: false });
    this.stopSweeps ??= (this.options.setInterval ?? unrefInterval)(() => this.sweep(), this.sweepMillis);
  }

  /** A span ended: no longer open; when it is the local root of its trace, the calls still open in it get the grace period. */
  ended(span: ReadableSpan): void {
    if (this.open.size === 0) return;
    const { traceId, spanId } = span.spanContext();
    this.open.delete(spanId);
    if (this.open.size > 0 && isLocalRoot(span) && !this.rootsEnded.has(traceId)) {
      this.rootsEnded.set(traceId, this.now());
    }
  }

  /** Lets go of the spans that are no model call, and hands on every call past its deadline. */
  sweep(): void {
    const now = this.now();
    for (const [spanId, call] of this.open) {
      if (!this.stillCall(spanId, call)) continue;
      const rootEnded = this.rootsEnded.get(call.traceId);
      if (rootEnded !== undefined) call.deadline = Math.min(call.deadline, rootEnded + this.graceMillis);
      if (call.deadline <= now) this.endNow(spanId, call, now);
    }
    this.rootsEnded.clear();
  }

  /** At shutdown: hands on every call still open, and stops sweeping. */
  endAll(): void {
    const now = this.now();
    for (const [spanId, call] of this.open) {
      if (this.stillCall(spanId, call)) this.endNow(spanId, call, now);
    }
    this.rootsEnded.clear();
    this.stopSweeps?.();
    this.stopSweeps = undefined;
    if (this.unwatched > 0) {
      diag.debug(`llamonitor: ${this.unwatched} model-call spans were not watched (maxOpenSpans reached)`);
    }
  }

  /** Whether a watched span is a model call (checked until it is one); one that is not is let go. */
  private stillCall(spanId: string, call: OpenCall): boolean {
    if (!call.isCall) {
      try {
        call.isCall = this.options.isCall(call.span);
      } catch {
        call.isCall = false;
      }
      if (!call.isCall) this.open.delete(spanId);
    }
    return call.isCall;
  }

  private endNow(spanId: string, call: OpenCall, now: number): void {
    this.open.delete(spanId);
    // A span that ended without a word to this processor (another provider's) has nothing to add.
    if (call.span.ended) return;
    try {
      this.options.hand(endedCopy(call.span, now));
    } catch (error) {
      diag.debug('llamonitor: could not hand on a span that was never ended', error);
    }
  }
}

/** A span with no parent in this process: none, or a remote one (sdk-trace-base 2.x; 1.x tells no remote parent). */
function isLocalRoot(span: ReadableSpan): boolean {
  const legacy = span as unknown as { parentSpanId?: string };
  const parent = span.parentSpanContext;
  if (parent) return parent.isRemote === true;
  return legacy.parentSpanId === undefined || legacy.parentSpanId === '';
}

function hrTimeOf(millis: number): HrTime {
  const seconds = Math.floor(millis / 1000);
  return [seconds, Math.round((millis - seconds * 1000) * 1e6)];
}

function millisOf(time: HrTime): number {
  return time[0] * 1000 + time[1] / 1e6;
}

/**
 * What `span` holds now, as a span that ended at `nowMillis`: the attributes
 * copied (the instrumentation may still write to its span), status ERROR, the
 * duration up to now, and the mark that gives its row the error
 * "the span was never ended by its instrumentation" (mapping/span-error.ts).
 */
export function endedCopy(span: Span, nowMillis: number): ReadableSpan & { readonly [SPAN_NOT_ENDED]: true } {
  const startMillis = millisOf(span.startTime);
  const endMillis = Math.max(nowMillis, startMillis);
  const context = span.spanContext();
  return {
    [SPAN_NOT_ENDED]: true,
    name: span.name,
    kind: span.kind,
    spanContext: () => context,
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: hrTimeOf(endMillis),
    duration: hrTimeOf(endMillis - startMillis),
    status: { code: SpanStatusCode.ERROR, message: UNENDED_ERROR },
    attributes: { ...span.attributes },
    links: [...span.links],
    events: [...span.events],
    ended: true,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}
