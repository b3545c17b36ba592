/**
 * The Vercel AI SDK 7 with `@ai-sdk/otel`'s OpenTelemetry integration
 * (registered once with `registerTelemetry`), the OpenAI provider's chat model
 * pointed at the fake server. AI SDK 7 lives in workspaces/ai7 (the root `ai`
 * is version 6). Its session travels in the runtime context: `runtimeContext`
 * holds it, `telemetry.includeRuntimeContext` lets it through to telemetry, and
 * the integration writes it as `ai.settings.context.<key>` only when built with
 * `runtimeContext: true` (off by default). Target ai7-legacy uses the
 * package's LegacyOpenTelemetry instead, which keeps AI SDK 6's span shapes.
 */
import {
  LegacyOpenTelemetry,
  OpenTelemetry,
  createOpenAI,
  embed,
  embedMany,
  generateText,
  registerTelemetry,
  stepCountIs,
  streamText,
  tool,
  type Telemetry,
  type TelemetryOptions,
} from '../../../../workspaces/ai7/sdk.js';
import { z } from 'zod';
import { WEATHER_TOOL_NAME, WEATHER_TOOL_RESULT } from '../../fake-llm-server.js';
import { SMALL_PNG } from '../../png.js';
import { LENGTH_CUT_TOKENS } from '../openai-scenarios.js';
import {
  CHAT_MODEL,
  CHAT_QUESTION,
  EMBEDDING_INPUT,
  EMBEDDING_INPUTS,
  EMBEDDING_MODEL,
  FAKE_API_KEY,
  IMAGE_QUESTION,
  SYSTEM_PROMPT,
  WEATHER_QUESTION,
  WEATHER_TOOL_DESCRIPTION,
} from '../prompts.js';
import type { CaptureTarget } from '../target.js';
import { startCaptureTracing } from '../tracing.js';

export const AI7_SESSION_ID = 'session-ai7-0001';
export const AI7_USER_ID = 'user-ai7-0001';
export const AI7_FUNCTION_ID = 'capture-ai7';

const runtimeContext = { sessionId: AI7_SESSION_ID, userId: AI7_USER_ID };

const telemetry: TelemetryOptions<typeof runtimeContext> = {
  functionId: AI7_FUNCTION_ID,
  includeRuntimeContext: { sessionId: true, userId: true },
};

const weatherTool = tool({
  description: WEATHER_TOOL_DESCRIPTION,
  inputSchema: z.object({ city: z.string() }),
  execute: async () => WEATHER_TOOL_RESULT,
});

async function expectFailure(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch {
    return;
  }
  throw new Error('expected the fake server to fail the call');
}

const SCENARIOS: Readonly<
  Record<string, { description: string; run(provider: ReturnType<typeof createOpenAI>): Promise<void> }>
> = {
  chat: {
    description: 'generateText with a system prompt and a user prompt',
    async run(openai) {
      await generateText({
        model: openai.chat(CHAT_MODEL),
        system: SYSTEM_PROMPT,
        prompt: CHAT_QUESTION,
        temperature: 0.2,
        maxOutputTokens: 64,
        maxRetries: 0,
        runtimeContext,
        telemetry,
      });
    },
  },
  'chat-length': {
    description:
      'generateText with maxOutputTokens 5: the answer is cut at its token limit (tests only, no fixture)',
    async run(openai) {
      await generateText({
        model: openai.chat(CHAT_MODEL),
        prompt: CHAT_QUESTION,
        maxOutputTokens: LENGTH_CUT_TOKENS,
        maxRetries: 0,
        runtimeContext,
        telemetry,
      });
    },
  },
  'chat-default-integration': {
    description:
      'the chat scenario with a per-call OpenTelemetry integration left at its defaults (tests only, no fixture)',
    async run(openai) {
      await generateText({
        model: openai.chat(CHAT_MODEL),
        system: SYSTEM_PROMPT,
        prompt: CHAT_QUESTION,
        maxRetries: 0,
        runtimeContext,
        telemetry: { ...telemetry, integrations: [new OpenTelemetry()] },
      });
    },
  },
  'chat-image': {
    description: 'generateText with a text part and a 4x3 PNG as a Buffer file part (image/png)',
    async run(openai) {
      await generateText({
        model: openai.chat(CHAT_MODEL),
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: IMAGE_QUESTION },
              // AI SDK 7 deprecates the `image` part: an image is a `file` part with an image/* media type.
              { type: 'file', data: SMALL_PNG, mediaType: 'image/png' },
            ],
          },
        ],
        maxRetries: 0,
        runtimeContext,
        telemetry,
      });
    },
  },
  'chat-stream': {
    description: 'streamText read to the end',
    async run(openai) {
      const result = streamText({
        model: openai.chat(CHAT_MODEL),
        prompt: CHAT_QUESTION,
        maxRetries: 0,
        runtimeContext,
        telemetry,
      });
      await result.consumeStream();
      await result.text;
    },
  },
  'tool-call': {
    description:
      'generateText with the get_weather tool, one step: the model calls the tool, the SDK runs it',
    async run(openai) {
      await generateText({
        model: openai.chat(CHAT_MODEL),
        prompt: WEATHER_QUESTION,
        tools: { [WEATHER_TOOL_NAME]: weatherTool },
        maxRetries: 0,
        runtimeContext,
        telemetry,
      });
    },
  },
  'agent-loop': {
    description:
      'generateText with the get_weather tool and stopWhen stepCountIs(3): tool call, tool run, final answer',
    async run(openai) {
      await generateText({
        model: openai.chat(CHAT_MODEL),
        prompt: WEATHER_QUESTION,
        tools: { [WEATHER_TOOL_NAME]: weatherTool },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
        runtimeContext,
        telemetry,
      });
    },
  },
  embedding: {
    description: 'embed with one value',
    async run(openai) {
      await embed({
        model: openai.embedding(EMBEDDING_MODEL),
        value: EMBEDDING_INPUT,
        maxRetries: 0,
        runtimeContext,
        telemetry,
      });
    },
  },
  'embedding-many': {
    description: 'embedMany with two values',
    async run(openai) {
      await embedMany({
        model: openai.embedding(EMBEDDING_MODEL),
        values: EMBEDDING_INPUTS,
        maxRetries: 0,
        runtimeContext,
        telemetry,
      });
    },
  },
  'error-429': {
    description: 'generateText answered 429 (maxRetries 0)',
    async run(openai) {
      await expectFailure(() =>
        generateText({
          model: openai.chat('error-429'),
          prompt: CHAT_QUESTION,
          maxRetries: 0,
          runtimeContext,
          telemetry,
        }),
      );
    },
  },
  'error-500': {
    description: 'generateText answered 500 (maxRetries 0)',
    async run(openai) {
      await expectFailure(() =>
        generateText({
          model: openai.chat('error-500'),
          prompt: CHAT_QUESTION,
          maxRetries: 0,
          runtimeContext,
          telemetry,
        }),
      );
    },
  },
};

function ai7Target(name: string, integration: () => Telemetry): CaptureTarget {
  return {
    name,
    packages: ['ai', '@ai-sdk/otel', '@ai-sdk/openai'],
    packageRoot: 'workspaces/ai7',
    scenarios: Object.fromEntries(
      Object.entries(SCENARIOS)
        .filter(([name]) => name !== 'chat-default-integration' && name !== 'chat-length')
        .map(([name, s]) => [name, s.description]),
    ),
    async start(server, options = {}) {
      const tracing = startCaptureTracing(options);
      registerTelemetry(integration());
      const openai = createOpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY });
      return {
        async run(scenario) {
          const run = SCENARIOS[scenario];
          if (!run) throw new Error(`no AI SDK 7 scenario ${scenario}`);
          await run.run(openai);
          return tracing.take();
        },
        stop: () => tracing.shutdown(),
      };
    },
  };
}

/** The GenAI integration: invoke_agent / step / chat / execute_tool spans. */
export const ai7: CaptureTarget = ai7Target('ai7', () => new OpenTelemetry({ runtimeContext: true }));

/** The integration that keeps AI SDK 6's span names and ai.* attributes, for users who migrate. */
export const ai7Legacy: CaptureTarget = ai7Target('ai7-legacy', () => new LegacyOpenTelemetry());
