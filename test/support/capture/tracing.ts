/**
 * A real tracer provider for captures: NodeTracerProvider (AsyncLocalStorage
 * context, registered globally as an application would) whose spans go to an
 * InMemorySpanExporter, plus a recorder of every span started, so that a span
 * an instrumentation starts and never ends is seen too.
 */
import type { Context } from '@opentelemetry/api';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';

export const CAPTURE_SERVICE_NAME = 'llamonitor-capture';

class StartedSpans implements SpanProcessor {
  started: Span[] = [];
  onStart(span: Span, _parentContext: Context): void {
    this.started.push(span);
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface CapturedSpans {
  /** Finished spans, as an exporter receives them (here in start order). */
  readonly spans: ReadableSpan[];
  /** Spans started and not ended. */
  readonly unended: ReadableSpan[];
}

export interface CaptureTracing {
  readonly provider: NodeTracerProvider;
  /** Waits for spans that end just after the call returned, then hands over what was recorded since the last take. */
  take(): Promise<CapturedSpans>;
  shutdown(): Promise<void>;
}

export interface CaptureTracingOptions {
  /** The processor that hands finished spans to the exporter; default SimpleSpanProcessor. */
  readonly exportingProcessor?: (exporter: SpanExporter) => SpanProcessor;
  /** More processors, after the capture's own (each sees a span start after the exporting one did). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/**
 * Orders spans as they started, so that tests and fixtures read top-down (an
 * exporter receives them as they end). Spans stamped with the same instant
 * (AI SDK 6 and 7 stamp milliseconds): an ancestor before its descendants,
 * others in the order the tracer started them (`startedOrder`; else as
 * listed). Depth alone would put a step that began in the same millisecond as
 * the previous step's tool call before that tool call.
 */
export function inStartOrder(
  spans: readonly ReadableSpan[],
  startedOrder: readonly ReadableSpan[] = spans,
): ReadableSpan[] {
  const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
  const started = new Map(startedOrder.map((span, index) => [span, index]));
  const isAncestor = (ancestor: ReadableSpan, of: ReadableSpan): boolean => {
    const id = ancestor.spanContext().spanId;
    let parent = of.parentSpanContext;
    for (let hops = 0; parent && hops < spans.length; hops++) {
      if (parent.spanId === id) return true;
      parent = byId.get(parent.spanId)?.parentSpanContext;
    }
    return false;
  };
  const lineage = (a: ReadableSpan, b: ReadableSpan): number =>
    isAncestor(a, b) ? -1 : isAncestor(b, a) ? 1 : 0;
  return [...spans].sort(
    (a, b) =>
      a.startTime[0] - b.startTime[0] ||
      a.startTime[1] - b.startTime[1] ||
      lineage(a, b) ||
      (started.get(a) ?? -1) - (started.get(b) ?? -1),
  );
}

/** How long take() lets late spans end: tool spans and stream ends settle in a few ms. */
const SETTLE_MILLIS = 150;

export function startCaptureTracing(options: CaptureTracingOptions = {}): CaptureTracing {
  const exporter = new InMemorySpanExporter();
  const started = new StartedSpans();
  const exporting = options.exportingProcessor?.(exporter) ?? new SimpleSpanProcessor(exporter);
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': CAPTURE_SERVICE_NAME })),
    spanProcessors: [started, exporting, ...(options.spanProcessors ?? [])],
  });
  provider.register();
  return {
    provider,
    async take() {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MILLIS));
      await provider.forceFlush();
      const spans = inStartOrder(exporter.getFinishedSpans(), started.started);
      exporter.reset();
      const unended = inStartOrder(
        started.started.filter((span) => !span.ended),
        started.started,
      );
      started.started = [];
      return { spans, unended };
    },
    shutdown: () => provider.shutdown(),
  };
}
