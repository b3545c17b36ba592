/**
 * OpenInference's OpenAI instrumentation, run live against the fake server:
 * the shapes docs/instrumentations.md describes and the mapping relies on.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  CHAT_ANSWER,
  IMAGE_ANSWER,
  TOOL_ANSWER,
  TOOL_CALL_ANSWER,
  WEATHER_TOOL_NAME,
  WEATHER_TOOL_RESULT,
  embeddingVector,
  responseModelFor,
} from '../support/fake-llm-server.js';
import { LARGE_PNG, SMALL_PNG, pngDataUrl } from '../support/png.js';
import { liveCapture } from '../support/capture/live.js';
import {
  CHAT_MODEL,
  CHAT_QUESTION,
  EMBEDDING_INPUT,
  EMBEDDING_MODEL,
  SYSTEM_PROMPT,
} from '../support/capture/prompts.js';
import {
  OPENINFERENCE_SESSION_ID,
  OPENINFERENCE_USER_ID,
  openinferenceOpenAI,
} from '../support/capture/targets/openinference-openai.js';
import { hostnames, jsonAttribute, keysStartingWith, onlySpan } from './span-queries.js';

const live = liveCapture(openinferenceOpenAI);
const IMAGE_URL_KEY = 'llm.input_messages.0.message.contents.1.message_content.image.image.url';

describe('OpenInference OpenAI instrumentation: chat', () => {
  it('makes one INTERNAL span "OpenAI Chat Completions" of openinference.span.kind LLM', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.name).toBe('OpenAI Chat Completions');
    expect(span.kind).toBe(SpanKind.INTERNAL);
    expect(span.attributes['openinference.span.kind']).toBe('LLM');
    expect(span.instrumentationScope.name).toBe('@arizeai/openinference-instrumentation-openai');
  });

  it('records the token counts the server reported, cache reads and reasoning included', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    const usage = CHAT_ANSWER.usage;
    expect(span.attributes['llm.token_count.prompt']).toBe(usage.prompt_tokens);
    expect(span.attributes['llm.token_count.completion']).toBe(usage.completion_tokens);
    expect(span.attributes['llm.token_count.total']).toBe(usage.total_tokens);
    expect(span.attributes['llm.token_count.prompt_details.cache_read']).toBe(
      usage.prompt_tokens_details.cached_tokens,
    );
    expect(span.attributes['llm.token_count.completion_details.reasoning']).toBe(
      usage.completion_tokens_details.reasoning_tokens,
    );
  });

  it('puts the session and user set with setSession / setUser in session.id and user.id', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes['session.id']).toBe(OPENINFERENCE_SESSION_ID);
    expect(span.attributes['user.id']).toBe(OPENINFERENCE_USER_ID);
  });

  it('names the response model in llm.model_name and the request in llm.invocation_parameters', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes['llm.model_name']).toBe(responseModelFor(CHAT_MODEL));
    expect(span.attributes['llm.system']).toBe('openai');
    expect(span.attributes['llm.provider']).toBeUndefined();
    expect(jsonAttribute(span, 'llm.invocation_parameters')).toEqual({
      model: CHAT_MODEL,
      temperature: 0.2,
      max_tokens: 64,
    });
  });

  it('flattens the messages into llm.input_messages.N / llm.output_messages.N', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes).toMatchObject({
      'llm.input_messages.0.message.role': 'system',
      'llm.input_messages.0.message.content': SYSTEM_PROMPT,
      'llm.input_messages.1.message.role': 'user',
      'llm.input_messages.1.message.content': CHAT_QUESTION,
      'llm.output_messages.0.message.role': 'assistant',
      'llm.output_messages.0.message.content': CHAT_ANSWER.text,
      'llm.finish_reason': 'stop',
    });
  });

  it('keeps the whole request in input.value and the raw response in output.value', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes['input.mime_type']).toBe('application/json');
    expect(jsonAttribute(span, 'input.value')).toMatchObject({ model: CHAT_MODEL });
    expect(jsonAttribute(span, 'output.value')).toMatchObject({
      object: 'chat.completion',
      usage: { total_tokens: CHAT_ANSWER.usage.total_tokens },
    });
  });

  it('sets status OK on a completed call', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.status.code).toBe(SpanStatusCode.OK);
  });
});

describe('OpenInference OpenAI instrumentation: images', () => {
  it('keeps a small image as its data: URL in the message contents', async () => {
    const { spans } = await live.run('chat-image');
    const span = onlySpan(spans);
    expect(span.attributes['llm.input_messages.0.message.contents.1.message_content.type']).toBe('image');
    expect(span.attributes[IMAGE_URL_KEY]).toBe(pngDataUrl(SMALL_PNG));
    expect(span.attributes['llm.output_messages.0.message.content']).toBe(IMAGE_ANSWER.text);
  });

  it('sends the server the same image it records', async () => {
    const { requests } = await live.run('chat-image');
    const body = requests[0]!.body as {
      messages: Array<{ content: Array<{ image_url?: { url: string } }> }>;
    };
    expect(body.messages[0]!.content[1]!.image_url!.url).toBe(pngDataUrl(SMALL_PNG));
  });

  it('replaces an image over 32,000 base64 characters by __REDACTED__ in the messages', async () => {
    expect(LARGE_PNG.toString('base64').length).toBeGreaterThan(32_000);
    const span = onlySpan((await live.run('chat-large-image')).spans);
    expect(span.attributes[IMAGE_URL_KEY]).toBe('__REDACTED__');
  });

  it('still holds the large image whole inside input.value', async () => {
    const span = onlySpan((await live.run('chat-large-image')).spans);
    expect(String(span.attributes['input.value'])).toContain(pngDataUrl(LARGE_PNG));
  });
});

describe('OpenInference OpenAI instrumentation: streaming', () => {
  it('records no token counts for a streamed answer, although the server sent usage', async () => {
    const { spans, requests } = await live.run('chat-stream');
    expect(requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(keysStartingWith(onlySpan(spans), 'llm.token_count.')).toEqual([]);
  });

  it('records the streamed text as the output message and as output.value (text/plain)', async () => {
    const span = onlySpan((await live.run('chat-stream')).spans);
    expect(span.attributes['llm.output_messages.0.message.content']).toBe(CHAT_ANSWER.text);
    expect(span.attributes['output.value']).toBe(CHAT_ANSWER.text);
    expect(span.attributes['output.mime_type']).toBe('text/plain');
  });

  it('leaves the status of a streamed call UNSET (OK only when not streamed)', async () => {
    const span = onlySpan((await live.run('chat-stream')).spans);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('names the request model in llm.model_name when streamed (the response model otherwise)', async () => {
    const span = onlySpan((await live.run('chat-stream')).spans);
    expect(span.attributes['llm.model_name']).toBe(CHAT_MODEL);
  });
});

describe('OpenInference OpenAI instrumentation: tool calls', () => {
  it('records the tool call the model made as output message tool_calls', async () => {
    const [first] = (await live.run('tool-call')).spans;
    const call = TOOL_CALL_ANSWER.toolCalls[0]!;
    expect(first!.attributes).toMatchObject({
      'llm.output_messages.0.message.tool_calls.0.tool_call.id': call.id,
      'llm.output_messages.0.message.tool_calls.0.tool_call.function.name': WEATHER_TOOL_NAME,
      'llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments': call.arguments,
      'llm.finish_reason': 'tool_calls',
    });
  });

  it('lists the offered tools as llm.tools.N.tool.json_schema', async () => {
    const [first] = (await live.run('tool-call')).spans;
    expect(jsonAttribute(first!, 'llm.tools.0.tool.json_schema')).toMatchObject({
      function: { name: WEATHER_TOOL_NAME },
    });
  });

  it('records the tool result as an input message of role tool in the next call', async () => {
    const spans = (await live.run('tool-call')).spans;
    expect(spans).toHaveLength(2);
    expect(spans[1]!.attributes).toMatchObject({
      'llm.input_messages.2.message.role': 'tool',
      'llm.input_messages.2.message.content': JSON.stringify(WEATHER_TOOL_RESULT),
      'llm.input_messages.2.message.tool_call_id': TOOL_CALL_ANSWER.toolCalls[0]!.id,
      'llm.output_messages.0.message.content': TOOL_ANSWER.text,
    });
  });
});

describe('OpenInference OpenAI instrumentation: embeddings', () => {
  it('makes one "OpenAI Embeddings" span of kind EMBEDDING with the text and the vector', async () => {
    const span = onlySpan((await live.run('embedding')).spans);
    expect(span.name).toBe('OpenAI Embeddings');
    expect(span.attributes).toMatchObject({
      'openinference.span.kind': 'EMBEDDING',
      'embedding.model_name': EMBEDDING_MODEL,
      'embedding.embeddings.0.embedding.text': EMBEDDING_INPUT,
    });
    expect(span.attributes['embedding.embeddings.0.embedding.vector']).toEqual(embeddingVector(0));
  });

  it('records no token count for embeddings, although the server reported usage', async () => {
    const span = onlySpan((await live.run('embedding')).spans);
    expect(keysStartingWith(span, 'llm.token_count.')).toEqual([]);
  });
});

describe('OpenInference OpenAI instrumentation: errors', () => {
  it.each(['error-429', 'error-500'])(
    'never ends its span on %s: no exporter receives one',
    async (scenario) => {
      const { spans, unended, requests } = await live.run(scenario);
      expect(requests).toHaveLength(1);
      expect(spans).toEqual([]);
      expect(unended.map((span) => span.attributes['llm.model_name'])).toEqual([scenario]);
    },
  );
});

describe('OpenInference OpenAI instrumentation: network', () => {
  it('sent every HTTP request of this file to the fake server on 127.0.0.1', async () => {
    await live.run('chat');
    expect(live.outgoingOrigins.length).toBeGreaterThan(0);
    expect(hostnames(live.outgoingOrigins)).toEqual(['127.0.0.1']);
  });
});
