// Setup 2 (own NodeTracerProvider) and an application in one file, ending as APP_END says:
// `exit`: `await shutdown()` then process.exit(1); `throw`: an uncaught exception, with the handler
// docs/setups.md shows. APP_CALLS calls through the contrib OpenAI instrumentation (CommonJS `openai`).
import { createRequire } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MetricEventsSpanProcessor, shutdownOnExit } from 'llamonitor-otel';

const provider = new NodeTracerProvider({ spanProcessors: [new MetricEventsSpanProcessor()] });
provider.register();
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
const shutdown = shutdownOnExit(provider);

process.on('uncaughtException', async (error) => {
  console.error(error.message);
  await shutdown();
  process.exit(1);
});

const { OpenAI } = createRequire(import.meta.url)('openai');
const openai = new OpenAI({ maxRetries: 0 });
const calls = Number(process.env.APP_CALLS ?? 3);
for (let i = 0; i < calls; i++) {
  await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Hello?' }],
  });
}
console.log(`calls ended: ${calls}`);

if (process.env.APP_END === 'exit') {
  await shutdown();
  process.exit(1);
}
if (process.env.APP_END === 'throw')
  setTimeout(() => {
    throw new Error('the application failed');
  }, 0);
