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
  /** Finished spans, as an exporter receives them. */
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
}

/** How long take() lets late spans end: tool spans and stream ends settle in a few ms. */
const SETTLE_MILLIS = 150;

export function startCaptureTracing(options: CaptureTracingOptions = {}): CaptureTracing {
  const exporter = new InMemorySpanExporter();
  const started = new StartedSpans();
  const exporting = options.exportingProcessor?.(exporter) ?? new SimpleSpanProcessor(exporter);
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': CAPTURE_SERVICE_NAME })),
    spanProcessors: [started, exporting],
  });
  provider.register();
  return {
    provider,
    async take() {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MILLIS));
      await provider.forceFlush();
      const spans = exporter.getFinishedSpans().slice();
      exporter.reset();
      const unended: ReadableSpan[] = started.started.filter((span) => !span.ended);
      started.started = [];
      return { spans, unended };
    },
    shutdown: () => provider.shutdown(),
  };
}
