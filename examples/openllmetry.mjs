// npm run example:openllmetry
//
// OpenLLMetry's OpenAI instrumentation (@traceloop/instrumentation-openai) with the session set through
// the Traceloop SDK's association properties, and the official `openai` client pointed at a fake
// OpenAI server on 127.0.0.1. Rows go to Parquet files in ./llamonitor-data (or LLAMONITOR_URL) and
// are printed back.
import { createRequire } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenAIInstrumentation } from '@traceloop/instrumentation-openai';
import { createSpanProcessor, withAssociationProperties } from '@traceloop/node-server-sdk';
import { MetricEventsSpanExporter } from 'llamonitor-otel';
import { FAKE_API_KEY, startFakeLlmServer } from './support/fake-llm-server.mjs';
import { solidPng } from './support/png.mjs';
import { exampleDestination, exampleServiceName, showStoredRows } from './support/stored-rows.mjs';

const destination = exampleDestination();
const serviceName = exampleServiceName('openllmetry');

// OpenLLMetry's session exists only through the Traceloop SDK's span processor: it writes the
// association properties of the context on each span as it starts. Put the exporter inside it, as
// `traceloop.initialize({ exporter })` does. initialize() is left out here: it also starts a NodeSDK
// with every Traceloop instrumentation and, unless told otherwise (traceloopSyncEnabled: false), polls
// Traceloop's servers for prompts. 'all' lets spans of other instrumentations through too.
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': serviceName }),
  spanProcessors: [
    createSpanProcessor({
      exporter: new MetricEventsSpanExporter({ url: destination.url, table: destination.table }),
      allowedInstrumentationLibraries: 'all',
    }),
  ],
});
provider.register();
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });

// Required after the instrumentation is enabled, so that its hook patches the module. An ES module app
// imports `openai` in a module loaded after this one, or calls instrumentation.manuallyInstrument(OpenAI).
const { OpenAI } = createRequire(import.meta.url)('openai');

const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY, maxRetries: 0 });

await withAssociationProperties({ session_id: 'support-chat-0042', user_id: 'user-7' }, async () => {
  await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You answer in two short lines.' },
      { role: 'user', content: 'What is the capital of France?' },
    ],
  });

  const stream = await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'What is the capital of France?' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _chunk of stream); // the span ends with the stream

  await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this image?' },
          {
            type: 'image_url',
            image_url: { url: `data:image/png;base64,${solidPng(64, 48).toString('base64')}` },
          },
        ],
      },
    ],
  });

  await openai.chat.completions
    .create({ model: 'error-429', messages: [{ role: 'user', content: 'Hello?' }] })
    .catch((error) => console.log(`the fake server answered ${error.status}, as asked`));
});

await provider.shutdown(); // flushes and closes the sink
await server.close();
await showStoredRows(destination, serviceName);
console.log(
  'OpenLLMetry 0.27 records no tokens for a streamed answer, and never ends the span of a call that failed\n' +
    '(the 429 above): no exporter receives it, so no row can exist for it.',
);
