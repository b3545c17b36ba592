/**
 * The OpenTelemetry contrib OpenAI instrumentation, run live against the fake
 * server with captureMessageContent on.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
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
  responseModelFor,
} from '../support/fake-llm-server.js';
import { SMALL_PNG } from '../support/png.js';
import { liveCapture } from '../support/capture/live.js';
import { OPENAI_FIXTURE_SCENARIOS } from '../support/capture/openai-scenarios.js';
import {
  CHAT_MODEL,
  CHAT_QUESTION,
  EMBEDDING_INPUT,
  EMBEDDING_MODEL,
  SYSTEM_PROMPT,
} from '../support/capture/prompts.js';
import { contribOpenAI } from '../support/capture/targets/contrib-openai.js';
import { allStrings, hostnames, keysStartingWith, onlySpan } from './span-queries.js';

const live = liveCapture(contribOpenAI);

describe('contrib OpenAI instrumentation: chat', () => {
  it('makes one CLIENT span "chat <request model>"', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.name).toBe(`chat ${CHAT_MODEL}`);
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.instrumentationScope.name).toBe('@opentelemetry/instrumentation-openai');
  });

  it('names the provider in gen_ai.system, not gen_ai.provider.name', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes['gen_ai.system']).toBe('openai');
    expect(span.attributes['gen_ai.provider.name']).toBeUndefined();
  });

  it('records operation, request and response models, request settings and the server', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': CHAT_MODEL,
      'gen_ai.response.model': responseModelFor(CHAT_MODEL),
      'gen_ai.response.id': expect.stringMatching(/^chatcmpl-fake-/),
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.max_tokens': 64,
      'gen_ai.response.finish_reasons': ['stop'],
      'server.address': '127.0.0.1',
      'server.port': live.server.port,
    });
  });

  it('records input and output tokens only: no total, no cache reads, no reasoning', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes['gen_ai.usage.input_tokens']).toBe(CHAT_ANSWER.usage.prompt_tokens);
    expect(span.attributes['gen_ai.usage.output_tokens']).toBe(CHAT_ANSWER.usage.completion_tokens);
    expect(keysStartingWith(span, 'gen_ai.usage.').sort()).toEqual([
      'gen_ai.usage.input_tokens',
      'gen_ai.usage.output_tokens',
    ]);
  });

  it('leaves the status of a completed call UNSET', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });
});

describe('contrib OpenAI instrumentation: no content on spans', () => {
  const contents = [
    SYSTEM_PROMPT,
    CHAT_QUESTION,
    CHAT_ANSWER.text!,
    IMAGE_ANSWER.text!,
    TOOL_ANSWER.text!,
    EMBEDDING_INPUT,
    SMALL_PNG.toString('base64'),
  ];

  it.each(Object.keys(OPENAI_FIXTURE_SCENARIOS))(
    'puts neither prompt, answer nor image on the %s span, with captureMessageContent on',
    async (scenario) => {
      const { spans } = await live.run(scenario);
      const strings = spans.flatMap(allStrings);
      for (const content of contents) {
        expect(strings.filter((value) => value.includes(content))).toEqual([]);
      }
    },
  );

  it('does not name the tool the model called', async () => {
    const { spans } = await live.run('tool-call');
    expect(spans.flatMap(allStrings).filter((value) => value.includes(WEATHER_TOOL_NAME))).toEqual([]);
    expect(spans[0]!.attributes['gen_ai.response.finish_reasons']).toEqual(['tool_calls']);
    expect(spans[0]!.attributes['gen_ai.usage.output_tokens']).toBe(TOOL_CALL_ANSWER.usage.completion_tokens);
  });
});

describe('contrib OpenAI instrumentation: streaming', () => {
  it('records the usage of a stream read with include_usage', async () => {
    const span = onlySpan((await live.run('chat-stream')).spans);
    expect(span.attributes['gen_ai.usage.input_tokens']).toBe(CHAT_ANSWER.usage.prompt_tokens);
    expect(span.attributes['gen_ai.usage.output_tokens']).toBe(CHAT_ANSWER.usage.completion_tokens);
    expect(span.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
  });
});

describe('contrib OpenAI instrumentation: embeddings', () => {
  it('makes one CLIENT span "embeddings <model>" with the input tokens', async () => {
    const span = onlySpan((await live.run('embedding')).spans);
    expect(span.name).toBe(`embeddings ${EMBEDDING_MODEL}`);
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes['gen_ai.operation.name']).toBe('embeddings');
    expect(span.attributes['gen_ai.usage.input_tokens']).toBe(EMBEDDING_TOKENS_PER_INPUT);
  });
});

describe('contrib OpenAI instrumentation: errors', () => {
  it.each([
    ['error-429', 'RateLimitError', `429 ${ERROR_429_MESSAGE}`],
    ['error-500', 'InternalServerError', `500 ${ERROR_500_MESSAGE}`],
  ])('ends the %s span with status ERROR and error.type %s', async (scenario, errorType, message) => {
    const { spans, unended } = await live.run(scenario);
    const span = onlySpan(spans);
    expect(unended).toEqual([]);
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
    expect(span.attributes['error.type']).toBe(errorType);
  });

  it.each(['error-429', 'error-500'])('records no exception event on %s', async (scenario) => {
    const span = onlySpan((await live.run(scenario)).spans);
    expect(span.events).toEqual([]);
  });
});

describe('contrib OpenAI instrumentation: network', () => {
  it('sent every HTTP request of this file to the fake server on 127.0.0.1', async () => {
    await live.run('chat');
    expect(live.outgoingOrigins.length).toBeGreaterThan(0);
    expect(hostnames(live.outgoingOrigins)).toEqual(['127.0.0.1']);
  });
});
