/**
 * The OpenTelemetry contrib OpenAI instrumentation. It has no session of its
 * own. It is run with captureMessageContent on: content then goes to log
 * records (no logger provider here), and the spans show that none reaches them.
 */
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OPENAI_FIXTURE_SCENARIOS, openAIClient, openAIScenario } from '../openai-scenarios.js';
import type { CaptureTarget } from '../target.js';
import { startCaptureTracing } from '../tracing.js';

export const contribOpenAI: CaptureTarget = {
  name: 'contrib-openai',
  packages: ['@opentelemetry/instrumentation-openai', 'openai'],
  scenarios: OPENAI_FIXTURE_SCENARIOS,
  async start(server, options = {}) {
    const tracing = startCaptureTracing(options);
    const instrumentation = new OpenAIInstrumentation({ captureMessageContent: true });
    // registerInstrumentations also hands over the meter provider: without it this version's metric
    // instruments stay undefined and reading a stream throws.
    registerInstrumentations({ tracerProvider: tracing.provider, instrumentations: [instrumentation] });
    const client = openAIClient(server);
    return {
      async run(scenario) {
        await openAIScenario(scenario).run(client);
        return tracing.take();
      },
      async stop() {
        instrumentation.disable();
        await tracing.shutdown();
      },
    };
  },
};
