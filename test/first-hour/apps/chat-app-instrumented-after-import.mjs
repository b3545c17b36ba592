// An ES module application that registers the contrib OpenAI instrumentation itself, in the file that
// imports `openai`: static imports load first, so the client is imported before the instrumentation exists.
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import OpenAI from 'openai';

registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });

const openai = new OpenAI({ maxRetries: 0 });
const calls = Number(process.env.APP_CALLS ?? 3);
for (let i = 0; i < calls; i++) {
  await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Hello?' }],
  });
}
console.log(`calls ended: ${calls}`);
