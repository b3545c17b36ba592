// An application with metrics of its own: it registers a global MeterProvider once it has started (after
// the register entry built the tracer provider, as NodeSDK's metrics often are), makes APP_CALLS chat calls
// through the `openai` client, flushes the tracer provider, and prints what its MeterProvider collected,
// by instrumentation scope and metric name.
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import OpenAI from 'openai';

class CollectOnDemand extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const reader = new CollectOnDemand();
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

const client = new OpenAI({ maxRetries: 0 });
const calls = Number(process.env.APP_CALLS ?? 2);
for (let i = 0; i < calls; i++) {
  await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `What is the capital of France? (${i + 1})` }],
  });
}
await trace.getTracerProvider().getDelegate().forceFlush();
const { resourceMetrics } = await reader.collect();
const collected = {};
for (const scope of resourceMetrics.scopeMetrics) {
  for (const metric of scope.metrics) {
    collected[`${scope.scope.name} ${metric.descriptor.name}`] = metric.dataPoints.map((point) => ({
      attributes: point.attributes,
      value: point.value,
    }));
  }
}
console.log(JSON.stringify(collected));
