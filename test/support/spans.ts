/** Real ReadableSpans from the SDK, for tests that need finished spans of a given shape. */
import { SpanKind, type Attributes } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('llamonitor-otel-tests');

/** An OpenTelemetry GenAI chat span as the contrib OpenAI instrumentation emits it. */
export const CHAT_ATTRIBUTES: Attributes = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.system': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
  'gen_ai.usage.input_tokens': 12,
  'gen_ai.usage.output_tokens': 7,
};

/** `count` finished spans with the given attributes (a GenAI chat by default). */
export function finishedSpans(
  count: number,
  attributes: Attributes = CHAT_ATTRIBUTES,
  name = 'chat gpt-4o-mini',
): ReadableSpan[] {
  exporter.reset();
  for (let i = 0; i < count; i++) tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }).end();
  return exporter.getFinishedSpans().slice();
}
