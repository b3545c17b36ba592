/**
 * The scenarios shared by the three OpenAI instrumentations, run with the
 * official `openai` client. The client is loaded with require() after the
 * instrumentation is enabled: that is how the instrumentations' module hooks
 * patch it, as in a CommonJS application.
 */
import { createRequire } from 'node:module';
import type OpenAIModule from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { WEATHER_TOOL_NAME, WEATHER_TOOL_RESULT, type FakeLlmServer } from '../fake-llm-server.js';
import { LARGE_PNG, SMALL_PNG, pngDataUrl } from '../png.js';
import {
  CHAT_MODEL,
  CHAT_QUESTION,
  EMBEDDING_INPUT,
  EMBEDDING_MODEL,
  FAKE_API_KEY,
  IMAGE_QUESTION,
  SYSTEM_PROMPT,
  WEATHER_QUESTION,
  WEATHER_TOOL_DESCRIPTION,
} from './prompts.js';

type OpenAIClient = OpenAIModule;

/** Loads `openai` through require(), so that an enabled instrumentation's hook patches it. */
function requireOpenAI(): typeof OpenAIModule {
  const require = createRequire(import.meta.url);
  return (require('openai') as { OpenAI: typeof OpenAIModule }).OpenAI;
}

export function openAIClient(server: FakeLlmServer): OpenAIClient {
  const OpenAI = requireOpenAI();
  // No retries: one request, one span; a retried 429 would hide what the instrumentation does with it.
  return new OpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY, maxRetries: 0 });
}

const WEATHER_TOOL: ChatCompletionTool = {
  type: 'function',
  function: {
    name: WEATHER_TOOL_NAME,
    description: WEATHER_TOOL_DESCRIPTION,
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};

async function expectApiError(status: number, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    // The client's APIError carries the HTTP status.
    if ((error as { status?: unknown }).status === status) return;
    throw error;
  }
  throw new Error(`expected the fake server to answer ${status}`);
}

/** The token limit of the `chat-length` scenarios: below the plain answer's, so the server cuts it. */
export const LENGTH_CUT_TOKENS = 5;
const TEST_ONLY_SCENARIOS = new Set(['chat-large-image', 'chat-length']);

export const OPENAI_SCENARIOS: Readonly<
  Record<string, { readonly description: string; run(client: OpenAIClient): Promise<void> }>
> = {
  chat: {
    description: 'chat.completions.create with a system and a user message',
    async run(client) {
      await client.chat.completions.create({
        model: CHAT_MODEL,
        messages: [
          { role: 'system', content: SYSTEM_PROMPT },
          { role: 'user', content: CHAT_QUESTION },
        ],
        temperature: 0.2,
        max_tokens: 64,
      });
    },
  },
  'chat-length': {
    description: 'chat with max_tokens 5: the answer is cut at its token limit (tests only, no fixture)',
    async run(client) {
      await client.chat.completions.create({
        model: CHAT_MODEL,
        messages: [{ role: 'user', content: CHAT_QUESTION }],
        max_tokens: LENGTH_CUT_TOKENS,
      });
    },
  },
  'chat-image': {
    description: 'chat.completions.create with a text part and a 4x3 PNG as a data: URL image_url part',
    async run(client) {
      await client.chat.completions.create({
        model: CHAT_MODEL,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: IMAGE_QUESTION },
              { type: 'image_url', image_url: { url: pngDataUrl(SMALL_PNG) } },
            ],
          },
        ],
      });
    },
  },
  'chat-large-image': {
    description:
      'chat-image with a 120x100 PNG whose base64 is over 32,000 characters (tests only, no fixture)',
    async run(client) {
      await client.chat.completions.create({
        model: CHAT_MODEL,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: IMAGE_QUESTION },
              { type: 'image_url', image_url: { url: pngDataUrl(LARGE_PNG) } },
            ],
          },
        ],
      });
    },
  },
  'chat-stream': {
    description:
      'chat.completions.create with stream: true and stream_options.include_usage, stream read to the end',
    async run(client) {
      const stream = await client.chat.completions.create({
        model: CHAT_MODEL,
        messages: [{ role: 'user', content: CHAT_QUESTION }],
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const _chunk of stream) {
        // read every chunk: the instrumentations end their span at the end of the stream
      }
    },
  },
  'tool-call': {
    description:
      'two chat.completions.create calls: the model calls get_weather, then answers from the tool result',
    async run(client) {
      const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: WEATHER_QUESTION }];
      const first = await client.chat.completions.create({
        model: CHAT_MODEL,
        messages,
        tools: [WEATHER_TOOL],
      });
      const assistant = first.choices[0]!.message;
      const call = assistant.tool_calls![0]!;
      messages.push(assistant, {
        role: 'tool',
        tool_call_id: call.id,
        content: JSON.stringify(WEATHER_TOOL_RESULT),
      });
      await client.chat.completions.create({ model: CHAT_MODEL, messages, tools: [WEATHER_TOOL] });
    },
  },
  embedding: {
    description: 'embeddings.create with one input (the client asks for base64 encoding)',
    async run(client) {
      await client.embeddings.create({ model: EMBEDDING_MODEL, input: EMBEDDING_INPUT });
    },
  },
  'error-429': {
    description: 'chat.completions.create answered 429 (no retries)',
    async run(client) {
      await expectApiError(429, () =>
        client.chat.completions.create({
          model: 'error-429',
          messages: [{ role: 'user', content: CHAT_QUESTION }],
        }),
      );
    },
  },
  'error-500': {
    description: 'chat.completions.create answered 500 (no retries)',
    async run(client) {
      await expectApiError(500, () =>
        client.chat.completions.create({
          model: 'error-500',
          messages: [{ role: 'user', content: CHAT_QUESTION }],
        }),
      );
    },
  },
};

/** The scenarios written as fixtures: all but the large image (a fixture of 100 KB) and the cut answer. */
export const OPENAI_FIXTURE_SCENARIOS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(OPENAI_SCENARIOS)
    .filter(([name]) => !TEST_ONLY_SCENARIOS.has(name))
    .map(([name, scenario]) => [name, scenario.description]),
);

export function openAIScenario(name: string): (typeof OPENAI_SCENARIOS)[string] {
  const scenario = OPENAI_SCENARIOS[name];
  if (!scenario) throw new Error(`no OpenAI scenario ${name}`);
  return scenario;
}
