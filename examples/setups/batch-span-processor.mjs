// node --import ./telemetry.mjs app.mjs
import { register } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MetricEventsSpanExporter, shutdownOnExit } from 'llamonitor-otel';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url); // lets it patch `import` too

const exporter = MetricEventsSpanExporter.fromEnv(); // from LLAMONITOR_* variables
const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
provider.register();
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
shutdownOnExit(provider); // flushes on a normal end, on Ctrl-C (SIGINT) and on SIGTERM
