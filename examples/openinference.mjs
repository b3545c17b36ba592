// npm run example:openinference
//
// OpenInference's OpenAI instrumentation (@arizeai/openinference-instrumentation-openai) with the
// session and user set through openinference-core's context helpers, and the official `openai` client
// pointed at a fake OpenAI server on 127.0.0.1. Rows go to Parquet files in ./llamonitor-data (or
// LLAMONITOR_URL) and are printed back.
import { createRequire } from 'node:module';
import { context } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { setSession, setUser } from '@arizeai/openinference-core';
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';
import { MetricEventsSpanProcessor } from 'llamonitor-otel';
import { FAKE_API_KEY, startFakeLlmServer } from './support/fake-llm-server.mjs';
import { noisyPng } from './support/png.mjs';
import { exampleDestination, exampleServiceName, showStoredRows } from './support/stored-rows.mjs';

const destination = exampleDestination();
const serviceName = exampleServiceName('openinference');

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': serviceName }),
  spanProcessors: [new MetricEventsSpanProcessor({ url: destination.url, table: destination.table })],
});
provider.register();
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });

// Required after the instrumentation is enabled, so that its hook patches the module. An ES module app
// imports `openai` in a module loaded after this one, or calls instrumentation.manuallyInstrument(openai).
const { OpenAI } = createRequire(import.meta.url)('openai');

const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY, maxRetries: 0 });

// The instrumentation reads the session and the user from the active context when a span starts.
const withSession = setUser(setSession(context.active(), { sessionId: 'support-chat-0043' }), {
  userId: 'user-8',
});
await context.with(withSession, async () => {
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

  // A photo-like image of 160x120: its base64 is over 32,000 characters, so the instrumentation writes
  // __REDACTED__ in its messages; the row still has the image, measured from the request in input.value.
  await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this image?' },
          {
            type: 'image_url',
            image_url: { url: `data:image/png;base64,${noisyPng(160, 120).toString('base64')}` },
          },
        ],
      },
    ],
  });

  await openai.embeddings.create({
    model: 'text-embedding-3-small',
    input: 'Paris is the capital of France.',
  });

  await openai.chat.completions
    .create({ model: 'error-500', messages: [{ role: 'user', content: 'Hello?' }] })
    .catch((error) => console.log(`the fake server answered ${error.status}, as asked`));
});

await provider.shutdown(); // flushes and closes the sink
await server.close();
await showStoredRows(destination, serviceName);
console.log(
  'OpenInference 4.2 records no tokens for a streamed answer or an embedding, and never ends the span of a\n' +
    'call that failed (the 500 above): no exporter receives it. MetricEventsSpanProcessor saw it start and\n' +
    'wrote its row at shutdown, with error_type span_not_ended.',
);
