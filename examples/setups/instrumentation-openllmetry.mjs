// node --import llamonitor-otel/register --import ./instrumentation-openllmetry.mjs app.mjs  (an ES module app)
import OpenAI from 'openai';
import { OpenAIInstrumentation } from '@traceloop/instrumentation-openai';

// Patches the class `import` loads. `enabled: false` keeps its own hooks from patching it a second time.
new OpenAIInstrumentation({ enabled: false }).manuallyInstrument(OpenAI);
