// The mistake: OpenInference registered as for a CommonJS application. Its hooks see `require('openai')`
// only, and the ES module application's `import OpenAI from 'openai'` stays unpatched.
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';

registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
