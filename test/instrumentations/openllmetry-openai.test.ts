/**
 * OpenLLMetry's OpenAI instrumentation, with the Traceloop SDK's span processor
 * for the association properties, run live against the fake server.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  CHAT_ANSWER,
  IMAGE_ANSWER,
  TOOL_ANSWER,
  TOOL_CALL_ANSWER,
  WEATHER_TOOL_ARGUMENTS,
  WEATHER_TOOL_NAME,
  responseModelFor,
} from '../support/fake-llm-server.js';
import { SMALL_PNG } from '../support/png.js';
import { liveCapture } from '../support/capture/live.js';
import { CHAT_MODEL, CHAT_QUESTION, IMAGE_QUESTION, SYSTEM_PROMPT } from '../support/capture/prompts.js';
import {
  OPENLLMETRY_CONVERSATION_ID,
  OPENLLMETRY_SESSION_ID,
  OPENLLMETRY_USER_ID,
  openllmetryOpenAI,
} from '../support/capture/targets/openllmetry-openai.js';
import {
  hostnames,
  jsonAttribute,
  keysStartingWith,
  onlySpan,
  parentIdOf,
  spanNamed,
} from './span-queries.js';

const live = liveCapture(openllmetryOpenAI);

describe('OpenLLMetry OpenAI instrumentation: chat', () => {
  it('makes one CLIENT span "chat <request model>"', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.name).toBe(`chat ${CHAT_MODEL}`);
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.instrumentationScope.name).toBe('@traceloop/instrumentation-openai');
  });

  it('uses the GenAI names for operation, provider and models', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': CHAT_MODEL,
      'gen_ai.response.model': responseModelFor(CHAT_MODEL),
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.max_tokens': 64,
    });
    expect(span.attributes['gen_ai.system']).toBeUndefined();
    expect(span.attributes['llm.request.type']).toBeUndefined();
  });

  it('records input, output and total tokens as gen_ai.usage.*', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes['gen_ai.usage.input_tokens']).toBe(CHAT_ANSWER.usage.prompt_tokens);
    expect(span.attributes['gen_ai.usage.output_tokens']).toBe(CHAT_ANSWER.usage.completion_tokens);
    expect(span.attributes['gen_ai.usage.total_tokens']).toBe(CHAT_ANSWER.usage.total_tokens);
  });

  it('drops the cached and reasoning tokens the server reported', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(CHAT_ANSWER.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
    expect(keysStartingWith(span, 'gen_ai.usage.').sort()).toEqual([
      'gen_ai.usage.input_tokens',
      'gen_ai.usage.output_tokens',
      'gen_ai.usage.total_tokens',
    ]);
  });

  it('carries the session as traceloop.association.properties.<the key the user chose>', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes['traceloop.association.properties.session_id']).toBe(OPENLLMETRY_SESSION_ID);
    expect(span.attributes['traceloop.association.properties.user_id']).toBe(OPENLLMETRY_USER_ID);
    expect(span.attributes['session.id']).toBeUndefined();
  });

  it('writes the messages as GenAI JSON: gen_ai.input.messages and gen_ai.output.messages', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(jsonAttribute(span, 'gen_ai.input.messages')).toEqual([
      { role: 'system', parts: [{ type: 'text', content: SYSTEM_PROMPT }] },
      { role: 'user', parts: [{ type: 'text', content: CHAT_QUESTION }] },
    ]);
    expect(jsonAttribute(span, 'gen_ai.output.messages')).toEqual([
      { role: 'assistant', finish_reason: 'stop', parts: [{ type: 'text', content: CHAT_ANSWER.text }] },
    ]);
    expect(span.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
  });

  it('leaves the status of a completed call UNSET', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });
});

describe('OpenLLMetry OpenAI instrumentation: withConversation', () => {
  it('wraps the calls in a workflow span "conversation.<id>.workflow" of the Traceloop SDK', async () => {
    const { spans } = await live.run('chat-conversation');
    const workflow = spanNamed(spans, `conversation.${OPENLLMETRY_CONVERSATION_ID}.workflow`);
    expect(workflow.instrumentationScope.name).toBe('@traceloop/node-server-sdk');
    expect(workflow.attributes['traceloop.span.kind']).toBe('workflow');
    expect(parentIdOf(spanNamed(spans, `chat ${CHAT_MODEL}`))).toBe(workflow.spanContext().spanId);
  });

  it('puts the conversation id in gen_ai.conversation.id on the workflow and the chat span', async () => {
    const { spans } = await live.run('chat-conversation');
    expect(spans.map((span) => span.attributes['gen_ai.conversation.id'])).toEqual([
      OPENLLMETRY_CONVERSATION_ID,
      OPENLLMETRY_CONVERSATION_ID,
    ]);
  });
});

describe('OpenLLMetry OpenAI instrumentation: images', () => {
  it('turns a data: URL image into a blob part holding the raw base64', async () => {
    const span = onlySpan((await live.run('chat-image')).spans);
    expect(jsonAttribute(span, 'gen_ai.input.messages')).toEqual([
      {
        role: 'user',
        parts: [
          { type: 'text', content: IMAGE_QUESTION },
          { type: 'blob', modality: 'image', mime_type: 'image/png', content: SMALL_PNG.toString('base64') },
        ],
      },
    ]);
    expect(span.attributes['gen_ai.usage.input_tokens']).toBe(IMAGE_ANSWER.usage.prompt_tokens);
  });
});

describe('OpenLLMetry OpenAI instrumentation: streaming', () => {
  it('records no token usage for a streamed answer, although the server sent it', async () => {
    const { spans, requests } = await live.run('chat-stream');
    expect(requests[0]!.body).toMatchObject({ stream_options: { include_usage: true } });
    expect(keysStartingWith(onlySpan(spans), 'gen_ai.usage.')).toEqual([]);
  });

  it('records the streamed text in gen_ai.output.messages', async () => {
    const span = onlySpan((await live.run('chat-stream')).spans);
    expect(jsonAttribute(span, 'gen_ai.output.messages')).toEqual([
      { role: 'assistant', finish_reason: 'stop', parts: [{ type: 'text', content: CHAT_ANSWER.text }] },
    ]);
  });
});

describe('OpenLLMetry OpenAI instrumentation: tool calls', () => {
  it('records the call as a tool_call part with parsed arguments, finish reason "tool_call"', async () => {
    const [first] = (await live.run('tool-call')).spans;
    expect(jsonAttribute(first!, 'gen_ai.output.messages')).toEqual([
      {
        role: 'assistant',
        finish_reason: 'tool_call',
        parts: [
          {
            type: 'tool_call',
            id: TOOL_CALL_ANSWER.toolCalls[0]!.id,
            name: WEATHER_TOOL_NAME,
            arguments: WEATHER_TOOL_ARGUMENTS,
          },
        ],
      },
    ]);
    expect(first!.attributes['gen_ai.response.finish_reasons']).toEqual(['tool_call']);
  });

  it('lists the offered tools in gen_ai.tool.definitions', async () => {
    const [first] = (await live.run('tool-call')).spans;
    expect(jsonAttribute(first!, 'gen_ai.tool.definitions')).toMatchObject([
      { type: 'function', function: { name: WEATHER_TOOL_NAME } },
    ]);
  });

  it('records the tool result as a tool_call_response part in the next call', async () => {
    const spans = (await live.run('tool-call')).spans;
    expect(spans).toHaveLength(2);
    const input = jsonAttribute(spans[1]!, 'gen_ai.input.messages') as Array<{
      role: string;
      parts: unknown[];
    }>;
    expect(input[2]).toMatchObject({
      role: 'tool',
      parts: [{ type: 'tool_call_response', id: TOOL_CALL_ANSWER.toolCalls[0]!.id }],
    });
    expect(jsonAttribute(spans[1]!, 'gen_ai.output.messages')).toMatchObject([
      { parts: [{ type: 'text', content: TOOL_ANSWER.text }] },
    ]);
  });
});

describe('OpenLLMetry OpenAI instrumentation: embeddings', () => {
  it('makes no span for embeddings.create (it does not patch embeddings)', async () => {
    const { spans, unended, requests } = await live.run('embedding');
    expect(requests.map((r) => r.path)).toEqual(['/v1/embeddings']);
    expect(spans).toEqual([]);
    expect(unended).toEqual([]);
  });
});

describe('OpenLLMetry OpenAI instrumentation: errors', () => {
  it.each(['error-429', 'error-500'])(
    'never ends its span on %s: no exporter receives one',
    async (scenario) => {
      const { spans, unended, requests } = await live.run(scenario);
      expect(requests).toHaveLength(1);
      expect(spans).toEqual([]);
      expect(unended.map((span) => span.attributes['gen_ai.request.model'])).toEqual([scenario]);
    },
  );
});

describe('OpenLLMetry OpenAI instrumentation: network', () => {
  it('sent every HTTP request of this file to the fake server on 127.0.0.1', async () => {
    await live.run('chat');
    expect(live.outgoingOrigins.length).toBeGreaterThan(0);
    expect(hostnames(live.outgoingOrigins)).toEqual(['127.0.0.1']);
  });
});
