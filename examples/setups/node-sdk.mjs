// node --import ./telemetry.mjs app.mjs
import { register } from 'node:module';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { MetricEventsSpanProcessor, shutdownOnExit } from 'llamonitor-otel';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url); // lets it patch `import` too

const sdk = new NodeSDK({
  spanProcessors: [new MetricEventsSpanProcessor()], // beside your other processors, if any
  instrumentations: [new OpenAIInstrumentation()],
  metricReaders: [], // unset, NodeSDK sends metrics and logs to localhost:4318
  logRecordProcessors: [],
});
sdk.start();
shutdownOnExit(sdk); // flushes on a normal end, on Ctrl-C (SIGINT) and on SIGTERM
