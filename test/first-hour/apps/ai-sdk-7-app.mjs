// An ES module application on the Vercel AI SDK 7: telemetry is registered once, and the SDK's spans go
// to the global tracer provider (nothing to patch). APP_CALLS calls against OPENAI_BASE_URL.
import { createOpenAI } from '@ai-sdk/openai';
import { OpenTelemetry } from '@ai-sdk/otel';
import { generateText, registerTelemetry } from 'ai';

registerTelemetry(new OpenTelemetry());

const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY });
const calls = Number(process.env.APP_CALLS ?? 3);
for (let i = 0; i < calls; i++) {
  await generateText({
    model: openai.chat('gpt-4o-mini'),
    prompt: 'What is the capital of France?',
    maxRetries: 0,
  });
}
console.log(`calls ended: ${calls}`);
