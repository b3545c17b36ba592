/**
 * An application set up in code, as the README shows: a NodeTracerProvider
 * with MetricEventsSpanProcessor, configured by LLAMONITOR_* variables, no
 * diag logger. It ends five chat spans, shuts the provider down and prints
 * "done"; whatever the package has to say goes to stderr.
 *
 *   LLAMONITOR_URL=... LLAMONITOR_SPILL_DIR=... node test/faults/first-failure-child.mjs
 */
import { SpanKind } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MetricEventsSpanProcessor } from 'llamonitor-otel';

const provider = new NodeTracerProvider({ spanProcessors: [new MetricEventsSpanProcessor()] });
const tracer = provider.getTracer('first-failure-app');
for (let i = 0; i < 5; i++) {
  const span = tracer.startSpan('chat gpt-4o-mini', {
    kind: SpanKind.CLIENT,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 7,
    },
  });
  span.end();
  process.stdout.write(`${span.spanContext().spanId}\n`);
}
await provider.shutdown();
process.stdout.write('done\n');
