/**
 * OpenInference's OpenAI instrumentation, with its session and user set through
 * openinference-core's context helpers (`setSession`, `setUser`): the
 * instrumentation reads them from the active context when it starts a span.
 */
import { context } from '@opentelemetry/api';
import { setSession, setUser } from '@arizeai/openinference-core';
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OPENAI_FIXTURE_SCENARIOS, openAIClient, openAIScenario } from '../openai-scenarios.js';
import type { CaptureTarget } from '../target.js';
import { startCaptureTracing } from '../tracing.js';

export const OPENINFERENCE_SESSION_ID = 'session-openinference-0001';
export const OPENINFERENCE_USER_ID = 'user-openinference-0001';

export const openinferenceOpenAI: CaptureTarget = {
  name: 'openinference-openai',
  packages: [
    '@arizeai/openinference-instrumentation-openai',
    '@arizeai/openinference-core',
    '@arizeai/openinference-semantic-conventions',
    'openai',
  ],
  scenarios: OPENAI_FIXTURE_SCENARIOS,
  async start(server, options = {}) {
    const tracing = startCaptureTracing(options);
    const instrumentation = new OpenAIInstrumentation();
    registerInstrumentations({ tracerProvider: tracing.provider, instrumentations: [instrumentation] });
    const client = openAIClient(server);
    return {
      async run(scenario) {
        const withSession = setUser(setSession(context.active(), { sessionId: OPENINFERENCE_SESSION_ID }), {
          userId: OPENINFERENCE_USER_ID,
        });
        await context.with(withSession, () => openAIScenario(scenario).run(client));
        return tracing.take();
      },
      async stop() {
        instrumentation.disable();
        await tracing.shutdown();
      },
    };
  },
};
