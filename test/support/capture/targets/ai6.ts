/**
 * The Vercel AI SDK 6 with its built-in telemetry (`experimental_telemetry`),
 * the OpenAI provider's chat model pointed at the fake server. The session and
 * user travel as telemetry metadata (`ai.telemetry.metadata.sessionId`), the
 * usual way to give AI SDK spans a session.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { embed, embedMany, generateText, stepCountIs, streamText, tool, type TelemetrySettings } from 'ai';
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

export const AI6_SESSION_ID = 'session-ai6-0001';
export const AI6_USER_ID = 'user-ai6-0001';
export const AI6_FUNCTION_ID = 'capture-ai6';

const telemetry: TelemetrySettings = {
  isEnabled: true,
  functionId: AI6_FUNCTION_ID,
  metadata: { sessionId: AI6_SESSION_ID, userId: AI6_USER_ID },
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
        experimental_telemetry: telemetry,
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
        experimental_telemetry: telemetry,
      });
    },
  },
  'chat-image': {
    description: 'generateText with a text part and a 4x3 PNG as a Buffer image part',
    async run(openai) {
      await generateText({
        model: openai.chat(CHAT_MODEL),
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: IMAGE_QUESTION },
              { type: 'image', image: SMALL_PNG, mediaType: 'image/png' },
            ],
          },
        ],
        maxRetries: 0,
        experimental_telemetry: telemetry,
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
        experimental_telemetry: telemetry,
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
        experimental_telemetry: telemetry,
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
        experimental_telemetry: telemetry,
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
        experimental_telemetry: telemetry,
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
        experimental_telemetry: telemetry,
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
          experimental_telemetry: telemetry,
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
          experimental_telemetry: telemetry,
        }),
      );
    },
  },
};

export const ai6: CaptureTarget = {
  name: 'ai6',
  packages: ['ai', '@ai-sdk/openai'],
  scenarios: Object.fromEntries(
    Object.entries(SCENARIOS)
      .filter(([name]) => name !== 'chat-length')
      .map(([name, s]) => [name, s.description]),
  ),
  async start(server, options = {}) {
    const tracing = startCaptureTracing(options);
    const openai = createOpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY });
    return {
      async run(scenario) {
        const run = SCENARIOS[scenario];
        if (!run) throw new Error(`no AI SDK 6 scenario ${scenario}`);
        await run.run(openai);
        return tracing.take();
      },
      stop: () => tracing.shutdown(),
    };
  },
};
