// Loaded with --import after llamonitor-otel/register: the instrumentations use the tracer provider the
// register entry has made global. Here OpenInference's OpenAI instrumentation.
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';

registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
