/**
 * The Vercel AI SDK 6's own telemetry (experimental_telemetry), run live with
 * the OpenAI provider against the fake server.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  CHAT_ANSWER,
  EMBEDDING_TOKENS_PER_INPUT,
  ERROR_429_MESSAGE,
  ERROR_500_MESSAGE,
  IMAGE_ANSWER,
  TOOL_ANSWER,
  TOOL_CALL_ANSWER,
  WEATHER_TOOL_NAME,
  WEATHER_TOOL_RESULT,
  responseModelFor,
} from '../support/fake-llm-server.js';
import { SMALL_PNG } from '../support/png.js';
import { liveCapture } from '../support/capture/live.js';
import { CHAT_MODEL, CHAT_QUESTION, SYSTEM_PROMPT } from '../support/capture/prompts.js';
import { AI6_FUNCTION_ID, AI6_SESSION_ID, AI6_USER_ID, ai6 } from '../support/capture/targets/ai6.js';
import { hostnames, jsonAttribute, parentIdOf, spanNamed, spansNamed } from './span-queries.js';

const live = liveCapture(ai6);

describe('AI SDK 6 telemetry: generateText', () => {
  it('makes an outer ai.generateText span with one ai.generateText.doGenerate child, scope "ai"', async () => {
    const { spans } = await live.run('chat');
    expect(spans.map((span) => span.name)).toEqual(['ai.generateText', 'ai.generateText.doGenerate']);
    expect(parentIdOf(spans[1]!)).toBe(spans[0]!.spanContext().spanId);
    expect(parentIdOf(spans[0]!)).toBeUndefined();
    expect(spans.every((span) => span.instrumentationScope.name === 'ai')).toBe(true);
  });

  it('names each span in ai.operationId, and with the functionId in operation.name', async () => {
    const { spans } = await live.run('chat');
    expect(spans.map((span) => span.attributes['ai.operationId'])).toEqual(spans.map((span) => span.name));
    expect(spans[0]!.attributes['operation.name']).toBe(`ai.generateText ${AI6_FUNCTION_ID}`);
  });

  it('puts the telemetry metadata (session, user) on every span as ai.telemetry.metadata.*', async () => {
    const { spans } = await live.run('chat');
    for (const span of spans) {
      expect(span.attributes['ai.telemetry.metadata.sessionId']).toBe(AI6_SESSION_ID);
      expect(span.attributes['ai.telemetry.metadata.userId']).toBe(AI6_USER_ID);
    }
  });

  it('repeats the usage on the outer span: both carry the model call tokens', async () => {
    const { spans } = await live.run('chat');
    const usage = CHAT_ANSWER.usage;
    for (const span of spans) {
      expect(span.attributes).toMatchObject({
        'ai.usage.inputTokens': usage.prompt_tokens,
        'ai.usage.outputTokens': usage.completion_tokens,
        'ai.usage.totalTokens': usage.total_tokens,
        'ai.usage.cachedInputTokens': usage.prompt_tokens_details.cached_tokens,
        'ai.usage.reasoningTokens': usage.completion_tokens_details.reasoning_tokens,
      });
    }
  });

  it('adds the GenAI names (gen_ai.system, models, usage) on the inner span only', async () => {
    const inner = spanNamed((await live.run('chat')).spans, 'ai.generateText.doGenerate');
    const outer = spanNamed((await live.run('chat')).spans, 'ai.generateText');
    expect(inner.attributes).toMatchObject({
      'gen_ai.system': 'openai.chat',
      'gen_ai.request.model': CHAT_MODEL,
      'gen_ai.response.model': responseModelFor(CHAT_MODEL),
      'gen_ai.usage.input_tokens': CHAT_ANSWER.usage.prompt_tokens,
      'gen_ai.usage.output_tokens': CHAT_ANSWER.usage.completion_tokens,
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(Object.keys(outer.attributes).filter((key) => key.startsWith('gen_ai.'))).toEqual([]);
    expect(outer.attributes['ai.model.provider']).toBe('openai.chat');
    expect(outer.attributes['ai.model.id']).toBe(CHAT_MODEL);
  });

  it('records the prompt as ai.prompt (outer) and ai.prompt.messages (inner), the text as ai.response.text', async () => {
    const { spans } = await live.run('chat');
    expect(jsonAttribute(spans[0]!, 'ai.prompt')).toEqual({ system: SYSTEM_PROMPT, prompt: CHAT_QUESTION });
    expect(jsonAttribute(spans[1]!, 'ai.prompt.messages')).toEqual([
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: [{ type: 'text', text: CHAT_QUESTION }] },
    ]);
    expect(spans.map((span) => span.attributes['ai.response.text'])).toEqual([
      CHAT_ANSWER.text,
      CHAT_ANSWER.text,
    ]);
  });
});

describe('AI SDK 6 telemetry: images', () => {
  it('serialises a Buffer image in the outer ai.prompt as {"type":"Buffer","data":[bytes]}', async () => {
    const outer = spanNamed((await live.run('chat-image')).spans, 'ai.generateText');
    const prompt = jsonAttribute(outer, 'ai.prompt') as {
      messages: Array<{ content: Array<{ type: string; image?: unknown }> }>;
    };
    expect(prompt.messages[0]!.content[1]).toEqual({
      type: 'image',
      image: { type: 'Buffer', data: [...SMALL_PNG] },
      mediaType: 'image/png',
    });
  });

  it('holds the image as base64 in a file part of the inner ai.prompt.messages', async () => {
    const inner = spanNamed((await live.run('chat-image')).spans, 'ai.generateText.doGenerate');
    const messages = jsonAttribute(inner, 'ai.prompt.messages') as Array<{ content: unknown[] }>;
    expect(messages[0]!.content[1]).toEqual({
      type: 'file',
      mediaType: 'image/png',
      data: SMALL_PNG.toString('base64'),
    });
    expect(inner.attributes['ai.response.text']).toBe(IMAGE_ANSWER.text);
  });
});

describe('AI SDK 6 telemetry: streamText', () => {
  it('makes ai.streamText with an ai.streamText.doStream child', async () => {
    const { spans } = await live.run('chat-stream');
    expect(spans.map((span) => span.name)).toEqual(['ai.streamText', 'ai.streamText.doStream']);
  });

  it('records the streamed usage on both spans', async () => {
    const { spans } = await live.run('chat-stream');
    expect(spans.map((span) => span.attributes['ai.usage.inputTokens'])).toEqual([
      CHAT_ANSWER.usage.prompt_tokens,
      CHAT_ANSWER.usage.prompt_tokens,
    ]);
    expect(spans[1]!.attributes['gen_ai.usage.output_tokens']).toBe(CHAT_ANSWER.usage.completion_tokens);
  });

  it('marks the first chunk and the end of the stream with events on doStream', async () => {
    const inner = spanNamed((await live.run('chat-stream')).spans, 'ai.streamText.doStream');
    expect(inner.events.map((event) => event.name)).toEqual(['ai.stream.firstChunk', 'ai.stream.finish']);
    expect(typeof inner.attributes['ai.response.msToFirstChunk']).toBe('number');
  });
});

describe('AI SDK 6 telemetry: tools', () => {
  it('runs the tool in an ai.toolCall span under ai.generateText, with name, id, args and result', async () => {
    const { spans } = await live.run('tool-call');
    const outer = spanNamed(spans, 'ai.generateText');
    const toolCall = spanNamed(spans, 'ai.toolCall');
    expect(parentIdOf(toolCall)).toBe(outer.spanContext().spanId);
    expect(toolCall.attributes).toMatchObject({
      'ai.toolCall.name': WEATHER_TOOL_NAME,
      'ai.toolCall.id': TOOL_CALL_ANSWER.toolCalls[0]!.id,
      'ai.toolCall.args': TOOL_CALL_ANSWER.toolCalls[0]!.arguments,
      'ai.toolCall.result': JSON.stringify(WEATHER_TOOL_RESULT),
    });
  });

  it('reports the model call finish reason as "tool-calls" and the calls in ai.response.toolCalls', async () => {
    const inner = spanNamed((await live.run('tool-call')).spans, 'ai.generateText.doGenerate');
    expect(inner.attributes['ai.response.finishReason']).toBe('tool-calls');
    expect(inner.attributes['gen_ai.response.finish_reasons']).toEqual(['tool-calls']);
    expect(jsonAttribute(inner, 'ai.response.toolCalls')).toEqual([
      {
        toolCallId: 'call_fake_0001',
        toolName: WEATHER_TOOL_NAME,
        input: TOOL_CALL_ANSWER.toolCalls[0]!.arguments,
      },
    ]);
  });

  it('makes two model calls and one tool call under one ai.generateText in a tool loop', async () => {
    const { spans } = await live.run('agent-loop');
    expect(spans.map((span) => span.name)).toEqual([
      'ai.generateText',
      'ai.generateText.doGenerate',
      'ai.toolCall',
      'ai.generateText.doGenerate',
    ]);
    const outerId = spans[0]!.spanContext().spanId;
    expect(spans.slice(1).every((span) => parentIdOf(span) === outerId)).toBe(true);
  });

  it('sums the steps usage on the outer span of a tool loop', async () => {
    const { spans } = await live.run('agent-loop');
    const [first, second] = spansNamed(spans, 'ai.generateText.doGenerate');
    expect(first!.attributes['ai.usage.inputTokens']).toBe(TOOL_CALL_ANSWER.usage.prompt_tokens);
    expect(second!.attributes['ai.usage.inputTokens']).toBe(TOOL_ANSWER.usage.prompt_tokens);
    expect(spans[0]!.attributes['ai.usage.inputTokens']).toBe(
      TOOL_CALL_ANSWER.usage.prompt_tokens + TOOL_ANSWER.usage.prompt_tokens,
    );
  });
});

describe('AI SDK 6 telemetry: embeddings', () => {
  it('makes ai.embed with an ai.embed.doEmbed child, both with ai.usage.tokens', async () => {
    const { spans } = await live.run('embedding');
    expect(spans.map((span) => span.name)).toEqual(['ai.embed', 'ai.embed.doEmbed']);
    expect(spans.map((span) => span.attributes['ai.usage.tokens'])).toEqual([
      EMBEDDING_TOKENS_PER_INPUT,
      EMBEDDING_TOKENS_PER_INPUT,
    ]);
    expect(spans[0]!.attributes['ai.model.provider']).toBe('openai.embedding');
  });

  it('makes ai.embedMany with one ai.embedMany.doEmbed for two values', async () => {
    const { spans } = await live.run('embedding-many');
    expect(spans.map((span) => span.name)).toEqual(['ai.embedMany', 'ai.embedMany.doEmbed']);
    expect(spans[0]!.attributes['ai.usage.tokens']).toBe(2 * EMBEDDING_TOKENS_PER_INPUT);
  });
});

describe('AI SDK 6 telemetry: errors', () => {
  it.each([
    ['error-429', ERROR_429_MESSAGE],
    ['error-500', ERROR_500_MESSAGE],
  ])('ends both spans of %s with status ERROR and an exception event', async (scenario, message) => {
    const { spans, unended } = await live.run(scenario);
    expect(unended).toEqual([]);
    expect(spans.map((span) => span.name)).toEqual(['ai.generateText', 'ai.generateText.doGenerate']);
    for (const span of spans) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
      expect(span.events.map((event) => event.name)).toEqual(['exception']);
      expect(span.events[0]!.attributes).toMatchObject({
        'exception.type': 'AI_APICallError',
        'exception.message': message,
      });
    }
  });

  it('sets no error.type attribute on failures', async () => {
    const { spans } = await live.run('error-429');
    expect(spans.map((span) => span.attributes['error.type'])).toEqual([undefined, undefined]);
  });
});

describe('AI SDK 6 telemetry: network', () => {
  it('sent every HTTP request of this file to the fake server on 127.0.0.1', async () => {
    await live.run('chat');
    expect(live.outgoingOrigins.length).toBeGreaterThan(0);
    expect(hostnames(live.outgoingOrigins)).toEqual(['127.0.0.1']);
  });
});
