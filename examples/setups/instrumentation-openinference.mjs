// node --import llamonitor-otel/register --import ./instrumentation-openinference.mjs app.mjs
import * as openai from 'openai';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';

const instrumentation = new OpenAIInstrumentation();
instrumentation.manuallyInstrument(openai); // what `import` loads: its loader hook cannot patch it
registerInstrumentations({ instrumentations: [instrumentation] }); // what `require` loads
