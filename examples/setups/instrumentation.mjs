// node --import llamonitor-otel/register --import ./instrumentation.mjs app.mjs
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';

registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
