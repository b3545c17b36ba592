// npm run example:contrib-openai
//
// The OpenTelemetry contrib OpenAI instrumentation (@opentelemetry/instrumentation-openai) with the
// official `openai` client pointed at a fake OpenAI server on 127.0.0.1. It has no session of its own:
// the application's span names one (`session.id`), and MetricEventsSpanProcessor hands it down to the
// instrumentation's spans. Rows go to Parquet files in ./llamonitor-data (or LLAMONITOR_URL) and are
// printed back.
import { createRequire } from 'node:module';
import { context, trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MetricEventsSpanProcessor } from 'llamonitor-otel';
import { FAKE_API_KEY, startFakeLlmServer } from './support/fake-llm-server.mjs';
import { exampleDestination, exampleServiceName, showStoredRows } from './support/stored-rows.mjs';

const destination = exampleDestination();
const serviceName = exampleServiceName('contrib-openai');

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': serviceName }),
  spanProcessors: [new MetricEventsSpanProcessor({ url: destination.url, table: destination.table })],
});
provider.register();
// registerInstrumentations also hands the instrumentation a meter provider, which it needs to read streams.
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });

// Required after the instrumentation is enabled, so that its hook patches the module.
const { OpenAI } = createRequire(import.meta.url)('openai');

const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY, maxRetries: 0 });

// The application's own span, say the HTTP request it serves: not an LLM span, so it has no row.
const request = trace.getTracer('support-app').startSpan('POST /chat', {
  attributes: { 'session.id': 'support-chat-0044' },
});
await context.with(trace.setSpan(context.active(), request), async () => {
  await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'What is the capital of France?' }],
  });

  const stream = await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'What is the capital of France?' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _chunk of stream); // the span ends with the stream

  await openai.embeddings.create({
    model: 'text-embedding-3-small',
    input: 'Paris is the capital of France.',
  });

  await openai.chat.completions
    .create({ model: 'error-429', messages: [{ role: 'user', content: 'Hello?' }] })
    .catch((error) => console.log(`the fake server answered ${error.status}, as asked`));
});
request.end();

await provider.shutdown(); // flushes and closes the sink
await server.close();
await showStoredRows(destination, serviceName);
console.log(
  'The contrib instrumentation 0.21 puts no prompt, answer or image on its spans (content goes to log\n' +
    'records): rows have tokens, errors and sessions, no text or image measures.',
);
