/**
 * OpenLLMetry's OpenAI instrumentation. OpenLLMetry has a session only through
 * the Traceloop SDK: `withAssociationProperties({ session_id, ... })` puts the
 * properties in the context under a key private to the SDK, and only the SDK's
 * span processor (`createSpanProcessor`) copies them onto each span as
 * `traceloop.association.properties.<key>` when the span starts. So the capture
 * uses that processor, around an InMemorySpanExporter, without `initialize()`
 * (which would start a NodeSDK exporting to Traceloop's cloud). The SDK's
 * `withConversation(id, fn)` is the other way: a workflow span, and
 * `gen_ai.conversation.id` on the spans under it (scenario chat-conversation).
 */
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@traceloop/instrumentation-openai';
import { createSpanProcessor, withAssociationProperties, withConversation } from '@traceloop/node-server-sdk';
import { OPENAI_FIXTURE_SCENARIOS, openAIClient, openAIScenario } from '../openai-scenarios.js';
import type { CaptureTarget } from '../target.js';
import { startCaptureTracing } from '../tracing.js';

export const OPENLLMETRY_SESSION_ID = 'session-openllmetry-0001';
export const OPENLLMETRY_USER_ID = 'user-openllmetry-0001';
export const OPENLLMETRY_CONVERSATION_ID = 'conversation-openllmetry-0001';

function openllmetryTarget(name: string, withSdkProcessor: boolean): CaptureTarget {
  return {
    name,
    packages: ['@traceloop/instrumentation-openai', '@traceloop/node-server-sdk', 'openai'],
    scenarios: {
      ...OPENAI_FIXTURE_SCENARIOS,
      'chat-conversation': 'the chat scenario inside the Traceloop SDK withConversation(id, fn)',
    },
    async start(server, options = {}) {
      const tracing = startCaptureTracing({
        ...options,
        ...(withSdkProcessor
          ? { exportingProcessor: (exporter) => createSpanProcessor({ exporter, disableBatch: true }) }
          : {}),
      });
      const instrumentation = new OpenAIInstrumentation();
      registerInstrumentations({ tracerProvider: tracing.provider, instrumentations: [instrumentation] });
      const client = openAIClient(server);
      return {
        async run(scenario) {
          if (scenario === 'chat-conversation') {
            await withConversation(OPENLLMETRY_CONVERSATION_ID, () => openAIScenario('chat').run(client));
          } else {
            await withAssociationProperties(
              { session_id: OPENLLMETRY_SESSION_ID, user_id: OPENLLMETRY_USER_ID },
              () => openAIScenario(scenario).run(client),
            );
          }
          return tracing.take();
        },
        async stop() {
          instrumentation.disable();
          await tracing.shutdown();
        },
      };
    },
  };
}

export const openllmetryOpenAI: CaptureTarget = openllmetryTarget('openllmetry-openai', true);

/** The same without the SDK's span processor (tests only): shows where the session comes from. */
export const openllmetryOpenAIWithoutSdkProcessor: CaptureTarget = openllmetryTarget(
  'openllmetry-openai-without-sdk-processor',
  false,
);
