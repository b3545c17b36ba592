// An application with no llamonitor-otel code, started with the register entry and the contrib OpenAI
// instrumentation (examples/setups/instrumentation.mjs): chat calls through the `openai` client, and through
// the Vercel AI SDK 6 (its own telemetry) a chat, a streamed chat and a call answered 429, each client's
// failure included. Prints "calls ended", then stays up (a server) until it is sent SIGTERM.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import OpenAI from 'openai';

const client = new OpenAI({ maxRetries: 0 });
const messages = [{ role: 'user', content: 'What is the capital of France?' }];
for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
await client.chat.completions.create({ model: 'error-429', messages }).catch(() => undefined);

const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY });
const telemetry = { isEnabled: true };
const prompt = 'What is the capital of France?';
await generateText({
  model: openai.chat('gpt-4o-mini'),
  prompt,
  maxRetries: 0,
  experimental_telemetry: telemetry,
});
await streamText({ model: openai.chat('gpt-4o'), prompt, maxRetries: 0, experimental_telemetry: telemetry })
  .text;
await generateText({
  model: openai.chat('error-429'),
  prompt,
  maxRetries: 0,
  experimental_telemetry: telemetry,
}).catch(() => undefined);

console.log('calls ended');
setInterval(() => {}, 60_000);
