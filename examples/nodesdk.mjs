// npm run example:nodesdk
//
// An application that sets up OpenTelemetry with NodeSDK (@opentelemetry/sdk-node): the processor goes
// in its spanProcessors, beside any you already have, and the OpenAI instrumentation (the contrib one)
// in its instrumentations. The official `openai` client is pointed at a fake OpenAI server on
// 127.0.0.1. The processor is configured from LLAMONITOR_* variables (default: Parquet files in
// ./llamonitor-data); the rows are printed back.
import { createRequire } from 'node:module';
import { trace } from '@opentelemetry/api';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { MetricEventsSpanProcessor } from 'llamonitor-otel';
import { FAKE_API_KEY, startFakeLlmServer } from './support/fake-llm-server.mjs';
import { exampleDestination, exampleServiceName, showStoredRows } from './support/stored-rows.mjs';

const destination = exampleDestination();
const serviceName = exampleServiceName('nodesdk');

const sdk = new NodeSDK({
  serviceName,
  // URL and the rest from LLAMONITOR_* variables; the table is given here so that a database run has its own.
  spanProcessors: [new MetricEventsSpanProcessor({ table: destination.table })],
  instrumentations: [new OpenAIInstrumentation()],
  // This app keeps no metrics or logs. Left unset, NodeSDK exports both to an OTLP collector
  // (OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER default to otlp, http://localhost:4318).
  metricReaders: [],
  logRecordProcessors: [],
});
sdk.start();

// Required after sdk.start(), so that the instrumentation's hook patches the module.
const { OpenAI } = createRequire(import.meta.url)('openai');

const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY, maxRetries: 0 });

// The application's own span carries the session; the processor hands it down to the OpenAI spans.
const tracer = trace.getTracer('support-app');
await tracer.startActiveSpan(
  'POST /chat',
  { attributes: { 'session.id': 'support-chat-0047' } },
  async (span) => {
    for (const question of ['What is the capital of France?', 'And its river?']) {
      await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: question }],
      });
    }
    span.end();
  },
);

await sdk.shutdown(); // flushes and closes the sink
await server.close();
await showStoredRows(destination, serviceName);
