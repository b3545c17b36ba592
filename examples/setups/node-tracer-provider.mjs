// node --import ./telemetry.mjs app.mjs
import { register } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MetricEventsSpanProcessor, shutdownOnExit } from 'llamonitor-otel';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url); // lets it patch `import` too

const provider = new NodeTracerProvider({
  spanProcessors: [new MetricEventsSpanProcessor()], // from LLAMONITOR_* variables
});
provider.register();
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
shutdownOnExit(provider); // flushes on a normal end, on Ctrl-C (SIGINT) and on SIGTERM
