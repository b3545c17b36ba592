// npm run example:ai-sdk-6
//
// The Vercel AI SDK 6 (`ai`, `@ai-sdk/openai`) with its built-in telemetry (`experimental_telemetry`),
// the OpenAI provider pointed at a fake OpenAI server on 127.0.0.1. The session travels as telemetry
// metadata. Rows go to Parquet files in ./llamonitor-data (or LLAMONITOR_URL) and are printed back.
import { createOpenAI } from '@ai-sdk/openai';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { embed, generateText, stepCountIs, streamText, tool } from 'ai';
import { MetricEventsSpanProcessor } from 'llamonitor-otel';
import { z } from 'zod';
import { FAKE_API_KEY, startFakeLlmServer } from './support/fake-llm-server.mjs';
import { solidPng } from './support/png.mjs';
import { exampleDestination, exampleServiceName, showStoredRows } from './support/stored-rows.mjs';

const destination = exampleDestination();
const serviceName = exampleServiceName('ai-sdk-6');

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': serviceName }),
  spanProcessors: [new MetricEventsSpanProcessor({ url: destination.url, table: destination.table })],
});
provider.register(); // the AI SDK uses the global tracer provider

const server = await startFakeLlmServer();
const openai = createOpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY });
const telemetry = {
  isEnabled: true,
  functionId: 'support-bot',
  metadata: { sessionId: 'support-chat-0045', userId: 'user-9' },
};

// A tool loop: the model asks for the weather, the SDK runs the tool, the model answers.
await generateText({
  model: openai.chat('gpt-4o-mini'),
  prompt: 'What is the weather in Paris?',
  tools: {
    get_weather: tool({
      description: 'The current weather in a city.',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => ({ city, forecast: 'sunny', celsius: 21 }),
    }),
  },
  stopWhen: stepCountIs(3),
  maxRetries: 0,
  experimental_telemetry: telemetry,
});

const streamed = streamText({
  model: openai.chat('gpt-4o-mini'),
  prompt: 'What is the capital of France?',
  maxRetries: 0,
  experimental_telemetry: telemetry,
});
await streamed.consumeStream();

await generateText({
  model: openai.chat('gpt-4o-mini'),
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this image?' },
        { type: 'image', image: solidPng(64, 48), mediaType: 'image/png' },
      ],
    },
  ],
  maxRetries: 0,
  experimental_telemetry: telemetry,
});

await embed({
  model: openai.embedding('text-embedding-3-small'),
  value: 'Paris is the capital of France.',
  maxRetries: 0,
  experimental_telemetry: telemetry,
});

await generateText({
  model: openai.chat('error-500'),
  prompt: 'Hello?',
  maxRetries: 0,
  experimental_telemetry: telemetry,
}).catch((error) => console.log(`the fake server answered ${error.statusCode}, as asked`));

await provider.shutdown(); // flushes and closes the sink
await server.close();
await showStoredRows(destination, serviceName);
console.log(
  'ai.generateText, ai.streamText and ai.embed repeat the usage of the model calls under them: their rows\n' +
    'keep it as aggregate_* (in parentheses above), so that summing input_tokens counts each call once.',
);
