/**
 * The JSON form of a captured span: everything a ReadableSpan holds, so that
 * test/support/captured-span.ts can give it back in the same shape.
 */
import type { Attributes, HrTime, SpanStatus } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface SpanContextJson {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote?: boolean;
  readonly traceState?: string;
}

export interface SpanEventJson {
  readonly name: string;
  readonly time: HrTime;
  readonly attributes: Attributes;
  readonly droppedAttributesCount: number;
}

export interface SpanLinkJson {
  readonly context: SpanContextJson;
  readonly attributes: Attributes;
}

export interface CapturedSpanJson {
  readonly name: string;
  /** The SpanKind number (0 INTERNAL, 1 SERVER, 2 CLIENT, 3 PRODUCER, 4 CONSUMER). */
  readonly kind: number;
  readonly spanContext: SpanContextJson;
  readonly parentSpanContext: SpanContextJson | null;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  /** False for a span that was started and never ended (no exporter ever sees it). */
  readonly ended: boolean;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly events: readonly SpanEventJson[];
  readonly links: readonly SpanLinkJson[];
  readonly resource: { readonly attributes: Attributes };
  readonly instrumentationScope: {
    readonly name: string;
    readonly version?: string;
    readonly schemaUrl?: string;
  };
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
}

export interface CaptureFixture {
  readonly instrumentation: string;
  readonly scenario: string;
  /** What the scenario did, in one sentence. */
  readonly description: string;
  readonly capturedWith: { readonly node: string; readonly packages: Readonly<Record<string, string>> };
  /** Finished spans, in the order they started: what an exporter receives. */
  readonly spans: readonly CapturedSpanJson[];
  /** Spans started and never ended by the time the scenario was over: no exporter ever receives them. */
  readonly unendedSpans: readonly CapturedSpanJson[];
}

function contextJson(context: {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean | undefined;
  traceState?: { serialize(): string } | undefined;
}): SpanContextJson {
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    traceFlags: context.traceFlags,
    ...(context.isRemote !== undefined ? { isRemote: context.isRemote } : {}),
    ...(context.traceState ? { traceState: context.traceState.serialize() } : {}),
  };
}

/** JSON has no undefined in arrays and no NaN: keep what JSON can say, as the exporter would read it. */
function plainAttributes(attributes: Attributes): Attributes {
  return JSON.parse(JSON.stringify(attributes)) as Attributes;
}

export function spanToJson(span: ReadableSpan): CapturedSpanJson {
  return {
    name: span.name,
    kind: span.kind,
    spanContext: contextJson(span.spanContext()),
    parentSpanContext: span.parentSpanContext ? contextJson(span.parentSpanContext) : null,
    startTime: span.startTime,
    endTime: span.endTime,
    duration: span.duration,
    ended: span.ended,
    status: { ...span.status },
    attributes: plainAttributes(span.attributes),
    events: span.events.map((event) => ({
      name: event.name,
      time: event.time,
      attributes: plainAttributes(event.attributes ?? {}),
      droppedAttributesCount: event.droppedAttributesCount ?? 0,
    })),
    links: span.links.map((link) => ({
      context: contextJson(link.context),
      attributes: plainAttributes(link.attributes ?? {}),
    })),
    resource: { attributes: plainAttributes(span.resource.attributes) },
    instrumentationScope: {
      name: span.instrumentationScope.name,
      ...(span.instrumentationScope.version !== undefined
        ? { version: span.instrumentationScope.version }
        : {}),
      ...(span.instrumentationScope.schemaUrl !== undefined
        ? { schemaUrl: span.instrumentationScope.schemaUrl }
        : {}),
    },
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}
