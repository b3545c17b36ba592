/**
 * The Vercel AI SDK 7 with @ai-sdk/otel's OpenTelemetry integration, run live
 * with the OpenAI provider against the fake server (AI SDK 7 from workspaces/ai7).
 */
import { SpanKind, SpanStatusCode, type AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import {
  CHAT_ANSWER,
  EMBEDDING_TOKENS_PER_INPUT,
  ERROR_429_MESSAGE,
  IMAGE_ANSWER,
  TOOL_ANSWER,
  TOOL_CALL_ANSWER,
  WEATHER_TOOL_NAME,
  WEATHER_TOOL_RESULT,
  responseModelFor,
} from '../support/fake-llm-server.js';
import { SMALL_PNG } from '../support/png.js';
import { liveCapture } from '../support/capture/live.js';
import {
  CHAT_MODEL,
  CHAT_QUESTION,
  EMBEDDING_MODEL,
  IMAGE_QUESTION,
  SYSTEM_PROMPT,
} from '../support/capture/prompts.js';
import { AI7_FUNCTION_ID, AI7_SESSION_ID, AI7_USER_ID, ai7 } from '../support/capture/targets/ai7.js';
import {
  hostnames,
  jsonAttribute,
  keysStartingWith,
  parentIdOf,
  spanNamed,
  spansNamed,
} from './span-queries.js';

const live = liveCapture(ai7);

const INVOKE_AGENT = `invoke_agent ${CHAT_MODEL}`;
const CHAT = `chat ${CHAT_MODEL}`;

function operations(spans: readonly ReadableSpan[]): Array<AttributeValue | undefined> {
  return spans.map((span) => span.attributes['gen_ai.operation.name']);
}

describe('AI SDK 7 telemetry: generateText', () => {
  it('makes the tree invoke_agent <model> → step 1 → chat <model>, scope "gen_ai"', async () => {
    const { spans } = await live.run('chat');
    expect(spans.map((span) => span.name)).toEqual([INVOKE_AGENT, 'step 1', CHAT]);
    expect(parentIdOf(spans[0]!)).toBeUndefined();
    expect(parentIdOf(spans[1]!)).toBe(spans[0]!.spanContext().spanId);
    expect(parentIdOf(spans[2]!)).toBe(spans[1]!.spanContext().spanId);
    expect(spans.every((span) => span.instrumentationScope.name === 'gen_ai')).toBe(true);
  });

  it('names the operations invoke_agent, agent_step and chat (a CLIENT span)', async () => {
    const { spans } = await live.run('chat');
    expect(operations(spans)).toEqual(['invoke_agent', 'agent_step', 'chat']);
    expect(spanNamed(spans, CHAT).kind).toBe(SpanKind.CLIENT);
  });

  it('carries the session as ai.settings.context.* on invoke_agent and the step, not on chat', async () => {
    const { spans } = await live.run('chat');
    expect(spans.map((span) => span.attributes['ai.settings.context.sessionId'])).toEqual([
      AI7_SESSION_ID,
      AI7_SESSION_ID,
      undefined,
    ]);
    expect(spans[0]!.attributes['ai.settings.context.userId']).toBe(AI7_USER_ID);
  });

  it('records no session with an integration at its defaults (runtimeContext is off)', async () => {
    const { spans } = await live.run('chat-default-integration');
    expect(spans.map((span) => span.name)).toEqual([INVOKE_AGENT, 'step 1', CHAT]);
    expect(spans.flatMap((span) => keysStartingWith(span, 'ai.settings.context.'))).toEqual([]);
  });

  it('names the agent after the functionId in gen_ai.agent.name', async () => {
    const { spans } = await live.run('chat');
    expect(spans[0]!.attributes['gen_ai.agent.name']).toBe(AI7_FUNCTION_ID);
  });

  it('uses the GenAI names for provider and models on chat', async () => {
    const chat = spanNamed((await live.run('chat')).spans, CHAT);
    expect(chat.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': CHAT_MODEL,
      'gen_ai.response.model': responseModelFor(CHAT_MODEL),
      'gen_ai.response.finish_reasons': ['stop'],
      'server.address': '127.0.0.1',
      'server.port': live.server.port,
    });
  });

  it('records tokens on chat and repeats them on invoke_agent, with cache reads but no reasoning', async () => {
    const { spans } = await live.run('chat');
    const usage = CHAT_ANSWER.usage;
    for (const span of [spanNamed(spans, INVOKE_AGENT), spanNamed(spans, CHAT)]) {
      expect(span.attributes).toMatchObject({
        'gen_ai.usage.input_tokens': usage.prompt_tokens,
        'gen_ai.usage.output_tokens': usage.completion_tokens,
        'gen_ai.usage.cache_read.input_tokens': usage.prompt_tokens_details.cached_tokens,
      });
      expect(keysStartingWith(span, 'gen_ai.usage.').sort()).toEqual([
        'gen_ai.usage.cache_read.input_tokens',
        'gen_ai.usage.input_tokens',
        'gen_ai.usage.output_tokens',
      ]);
    }
    expect(keysStartingWith(spanNamed(spans, 'step 1'), 'gen_ai.usage.')).toEqual([]);
  });

  it('writes system instructions and messages in the GenAI JSON form', async () => {
    const chat = spanNamed((await live.run('chat')).spans, CHAT);
    expect(jsonAttribute(chat, 'gen_ai.system_instructions')).toEqual([
      { type: 'text', content: SYSTEM_PROMPT },
    ]);
    expect(jsonAttribute(chat, 'gen_ai.input.messages')).toEqual([
      { role: 'user', parts: [{ type: 'text', content: CHAT_QUESTION }] },
    ]);
    expect(jsonAttribute(chat, 'gen_ai.output.messages')).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: CHAT_ANSWER.text }], finish_reason: 'stop' },
    ]);
  });

  it('has no ai.* attribute other than the runtime context', async () => {
    const { spans } = await live.run('chat');
    const aiKeys = spans.flatMap((span) => keysStartingWith(span, 'ai.'));
    expect(aiKeys.filter((key) => !key.startsWith('ai.settings.context.'))).toEqual([]);
  });
});

describe('AI SDK 7 telemetry: images', () => {
  it('turns a Buffer image into a blob part with raw base64, on chat and invoke_agent', async () => {
    const { spans } = await live.run('chat-image');
    const expected = [
      {
        role: 'user',
        parts: [
          { type: 'text', content: IMAGE_QUESTION },
          { type: 'blob', modality: 'image', mime_type: 'image/png', content: SMALL_PNG.toString('base64') },
        ],
      },
    ];
    expect(jsonAttribute(spanNamed(spans, CHAT), 'gen_ai.input.messages')).toEqual(expected);
    expect(jsonAttribute(spanNamed(spans, INVOKE_AGENT), 'gen_ai.input.messages')).toEqual(expected);
    expect(spanNamed(spans, CHAT).attributes['gen_ai.usage.input_tokens']).toBe(
      IMAGE_ANSWER.usage.prompt_tokens,
    );
  });
});

describe('AI SDK 7 telemetry: streamText', () => {
  it('makes the same tree for streamText, with the streamed usage on chat', async () => {
    const { spans } = await live.run('chat-stream');
    expect(spans.map((span) => span.name)).toEqual([INVOKE_AGENT, 'step 1', CHAT]);
    expect(spanNamed(spans, CHAT).attributes['gen_ai.usage.output_tokens']).toBe(
      CHAT_ANSWER.usage.completion_tokens,
    );
  });

  it('measures the time to the first chunk on chat', async () => {
    const chat = spanNamed((await live.run('chat-stream')).spans, CHAT);
    expect(typeof chat.attributes['gen_ai.client.operation.time_to_first_chunk']).toBe('number');
  });
});

describe('AI SDK 7 telemetry: tools', () => {
  it('runs the tool in execute_tool <name> under the step that asked for it', async () => {
    const { spans } = await live.run('tool-call');
    expect(spans.map((span) => span.name)).toEqual([
      INVOKE_AGENT,
      'step 1',
      CHAT,
      `execute_tool ${WEATHER_TOOL_NAME}`,
    ]);
    const tool = spanNamed(spans, `execute_tool ${WEATHER_TOOL_NAME}`);
    expect(parentIdOf(tool)).toBe(spanNamed(spans, 'step 1').spanContext().spanId);
    expect(tool.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': WEATHER_TOOL_NAME,
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.call.id': TOOL_CALL_ANSWER.toolCalls[0]!.id,
      'gen_ai.tool.call.arguments': TOOL_CALL_ANSWER.toolCalls[0]!.arguments,
      'gen_ai.tool.call.result': JSON.stringify(WEATHER_TOOL_RESULT),
    });
  });

  it('reports "tool-calls" in finish_reasons but "tool_call" in the output message', async () => {
    const chat = spanNamed((await live.run('tool-call')).spans, CHAT);
    expect(chat.attributes['gen_ai.response.finish_reasons']).toEqual(['tool-calls']);
    expect(jsonAttribute(chat, 'gen_ai.output.messages')).toMatchObject([{ finish_reason: 'tool_call' }]);
  });

  it('makes one step per model call in a tool loop: step 1 (chat, execute_tool), step 2 (chat)', async () => {
    const { spans } = await live.run('agent-loop');
    expect(spans.map((span) => span.name)).toEqual([
      INVOKE_AGENT,
      'step 1',
      CHAT,
      `execute_tool ${WEATHER_TOOL_NAME}`,
      'step 2',
      CHAT,
    ]);
    const [step1, step2] = [spanNamed(spans, 'step 1'), spanNamed(spans, 'step 2')];
    const [chat1, chat2] = spansNamed(spans, CHAT);
    expect(parentIdOf(chat1!)).toBe(step1.spanContext().spanId);
    expect(parentIdOf(chat2!)).toBe(step2.spanContext().spanId);
  });

  it('sums the model calls tokens on invoke_agent in a tool loop', async () => {
    const { spans } = await live.run('agent-loop');
    const chats = spansNamed(spans, CHAT).map((span) => span.attributes['gen_ai.usage.input_tokens']);
    expect(chats).toEqual([TOOL_CALL_ANSWER.usage.prompt_tokens, TOOL_ANSWER.usage.prompt_tokens]);
    expect(spanNamed(spans, INVOKE_AGENT).attributes['gen_ai.usage.input_tokens']).toBe(
      TOOL_CALL_ANSWER.usage.prompt_tokens + TOOL_ANSWER.usage.prompt_tokens,
    );
  });
});

describe('AI SDK 7 telemetry: embeddings', () => {
  it('makes two nested spans both named "embeddings <model>"', async () => {
    const { spans } = await live.run('embedding');
    expect(spans.map((span) => span.name)).toEqual([
      `embeddings ${EMBEDDING_MODEL}`,
      `embeddings ${EMBEDDING_MODEL}`,
    ]);
    expect(parentIdOf(spans[1]!)).toBe(spans[0]!.spanContext().spanId);
    expect(operations(spans)).toEqual(['embeddings', 'embeddings']);
  });

  it('records the tokens on the inner span only', async () => {
    const { spans } = await live.run('embedding');
    expect(spans.map((span) => span.attributes['gen_ai.usage.input_tokens'])).toEqual([
      undefined,
      EMBEDDING_TOKENS_PER_INPUT,
    ]);
  });

  it('carries the session on both embedding spans', async () => {
    const { spans } = await live.run('embedding-many');
    expect(spans.map((span) => span.attributes['ai.settings.context.sessionId'])).toEqual([
      AI7_SESSION_ID,
      AI7_SESSION_ID,
    ]);
    expect(spans[1]!.attributes['gen_ai.usage.input_tokens']).toBe(2 * EMBEDDING_TOKENS_PER_INPUT);
  });
});

describe('AI SDK 7 telemetry: errors', () => {
  it.each(['error-429', 'error-500'])('ends all three spans of %s with status ERROR', async (scenario) => {
    const { spans, unended } = await live.run(scenario);
    expect(unended).toEqual([]);
    expect(spans.map((span) => span.name)).toEqual([
      `invoke_agent ${scenario}`,
      'step 1',
      `chat ${scenario}`,
    ]);
    expect(spans.map((span) => span.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
    ]);
  });

  it('records the failure as an exception event and http.response.status_code, not error.type', async () => {
    const { spans } = await live.run('error-429');
    for (const span of spans) {
      expect(span.status.message).toBe(ERROR_429_MESSAGE);
      expect(span.events.map((event) => event.attributes?.['exception.type'])).toEqual(['AI_APICallError']);
      expect(span.attributes['http.response.status_code']).toBe(429);
      expect(span.attributes['error.type']).toBeUndefined();
    }
  });
});

describe('AI SDK 7 telemetry: network', () => {
  it('sent every HTTP request of this file to the fake server on 127.0.0.1', async () => {
    await live.run('chat');
    expect(live.outgoingOrigins.length).toBeGreaterThan(0);
    expect(hostnames(live.outgoingOrigins)).toEqual(['127.0.0.1']);
  });
});
