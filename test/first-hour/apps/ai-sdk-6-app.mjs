// An ES module application on the Vercel AI SDK 6: telemetry is turned on per call, and the SDK's spans go
// to the global tracer provider (nothing to patch). APP_CALLS calls against OPENAI_BASE_URL.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';

const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY });
const calls = Number(process.env.APP_CALLS ?? 3);
for (let i = 0; i < calls; i++) {
  await generateText({
    model: openai.chat('gpt-4o-mini'),
    prompt: 'What is the capital of France?',
    maxRetries: 0,
    experimental_telemetry: { isEnabled: true },
  });
}
console.log(`calls ended: ${calls}`);
