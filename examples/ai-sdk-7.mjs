// npm run example:ai-sdk-7
//
// The Vercel AI SDK 7 (`ai` 7, `@ai-sdk/otel`, `@ai-sdk/openai` 4) with the OpenTelemetry integration,
// the OpenAI provider pointed at a fake OpenAI server on 127.0.0.1. The session travels in the runtime
// context; the SDK writes it on invoke_agent and step spans only, and MetricEventsSpanProcessor hands it
// down to their chat and execute_tool spans. Rows go to Parquet files in ./llamonitor-data (or
// LLAMONITOR_URL) and are printed back.
//
// This repository's `ai` is version 6, so AI SDK 7 lives in the npm workspace workspaces/ai7 and is
// loaded from there; in your application it is
//   import { generateText, registerTelemetry, ... } from 'ai';
//   import { OpenTelemetry } from '@ai-sdk/otel';
//   import { createOpenAI } from '@ai-sdk/openai';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MetricEventsSpanProcessor } from 'llamonitor-otel';
import { tsImport } from 'tsx/esm/api';
import { z } from 'zod';
import { FAKE_API_KEY, startFakeLlmServer } from './support/fake-llm-server.mjs';
import { solidPng } from './support/png.mjs';
import { exampleDestination, exampleServiceName, showStoredRows } from './support/stored-rows.mjs';

const { OpenTelemetry, createOpenAI, embed, generateText, registerTelemetry, stepCountIs, streamText, tool } =
  await tsImport('../workspaces/ai7/sdk.ts', import.meta.url);

const destination = exampleDestination();
const serviceName = exampleServiceName('ai-sdk-7');

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': serviceName }),
  spanProcessors: [new MetricEventsSpanProcessor({ url: destination.url, table: destination.table })],
});
provider.register();
// runtimeContext: true lets the runtime context (the session) onto the spans; it is off by default.
registerTelemetry(new OpenTelemetry({ runtimeContext: true }));

const server = await startFakeLlmServer();
const openai = createOpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY });
// Each call passes the session in its runtime context, and says which keys telemetry may see.
const session = {
  runtimeContext: { sessionId: 'support-chat-0046', userId: 'user-10' },
  telemetry: { functionId: 'support-bot', includeRuntimeContext: { sessionId: true, userId: true } },
  maxRetries: 0,
};

// A tool loop: invoke_agent → step 1 (chat, execute_tool) → step 2 (chat).
await generateText({
  ...session,
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
});

const streamed = streamText({
  ...session,
  model: openai.chat('gpt-4o-mini'),
  prompt: 'What is the capital of France?',
});
await streamed.consumeStream();

await generateText({
  ...session,
  model: openai.chat('gpt-4o-mini'),
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this image?' },
        { type: 'file', data: solidPng(64, 48), mediaType: 'image/png' },
      ],
    },
  ],
});

await embed({
  ...session,
  model: openai.embedding('text-embedding-3-small'),
  value: 'Paris is the capital of France.',
});

await generateText({ ...session, model: openai.chat('error-429'), prompt: 'Hello?' }).catch((error) =>
  console.log(`the fake server answered ${error.statusCode}, as asked`),
);

await provider.shutdown(); // flushes and closes the sink
await server.close();
await showStoredRows(destination, serviceName);
console.log(
  'invoke_agent repeats the usage of the chat calls under it: its row keeps it as aggregate_* (in\n' +
    'parentheses above), so that summing input_tokens counts each call once.',
);
