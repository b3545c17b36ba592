/**
 * What the conformance tests (test/conformance/) found the mapping did not do
 * with the spans real instrumentations emit, each pinned here on the recorded
 * spans (test/fixtures/captured/) or on the smallest span of the same shape.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import type { MappingOptions } from '../../src/mapping/span-like.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import { inputColumnsOf, PROMPT_AFTER_TOOL } from '../conformance/expected.js';
import { loadCapturedSpans } from '../support/captured-span.js';
import { finishedSpans } from '../support/spans.js';

function row(span: ReadableSpan, options: MappingOptions = {}): MetricEvent {
  const event = toMetricEvent(span, options);
  if (!event) throw new Error(`span ${span.name} was filtered out`);
  return event;
}

/** The n-th captured span of that name (0: the first). */
function captured(target: string, scenario: string, name: string, n = 0): ReadableSpan {
  const span = loadCapturedSpans(target, scenario).filter((s) => s.name === name)[n];
  if (!span) throw new Error(`no span ${name} #${n} in ${target}/${scenario}`);
  return span;
}

function spanWith(attributes: Attributes, name = 'chat'): ReadableSpan {
  return finishedSpans(1, attributes, name)[0]!;
}

describe('the prompt of a model call after a tool', () => {
  it.each([
    ['OpenLLMetry 0.27', () => captured('openllmetry-openai', 'tool-call', 'chat gpt-4o-mini', 1)],
    ['OpenInference 4.2', () => captured('openinference-openai', 'tool-call', 'OpenAI Chat Completions', 1)],
    ['AI SDK 6', () => captured('ai6', 'agent-loop', 'ai.generateText.doGenerate', 1)],
    ['AI SDK 7', () => captured('ai7', 'agent-loop', 'chat gpt-4o-mini', 1)],
    ['AI SDK 7 legacy', () => captured('ai7-legacy', 'agent-loop', 'ai.generateText.doGenerate', 1)],
  ])('measures the same for %s: question, tool call arguments, tool result', (_name, span) => {
    expect(row(span()).text_custom_metrics).toMatchObject(inputColumnsOf(PROMPT_AFTER_TOOL));
  });

  it('counts the arguments of a GenAI tool_call part of an earlier turn as input', () => {
    const messages = [
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'c1', name: 'f', arguments: { a: 1 } }] },
    ];
    const span = spanWith({ 'gen_ai.input.messages': JSON.stringify(messages) });
    expect(row(span).text_custom_metrics).toMatchObject(inputColumnsOf('{"a":1}'));
  });

  it.each([
    ['json', { type: 'json', value: { a: 1 } }, '{"a":1}'],
    ['text', { type: 'text', value: 'sunny' }, 'sunny'],
    ['error-text', { type: 'error-text', value: 'no such city' }, 'no such city'],
    [
      'content',
      {
        type: 'content',
        value: [
          { type: 'text', text: 'sunny' },
          { type: 'media', data: 'AA==' },
        ],
      },
      'sunny',
    ],
  ])('measures an AI SDK tool-result output of type %s by what the tool returned', (_type, output, text) => {
    const messages = [{ role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', output }] }];
    const span = spanWith({ 'ai.prompt.messages': JSON.stringify(messages) }, 'ai.generateText.doGenerate');
    expect(row(span).text_custom_metrics).toMatchObject(inputColumnsOf(text));
  });

  it('measures an AI SDK 4 tool result (a bare result) as it is', () => {
    const messages = [{ role: 'tool', content: [{ type: 'tool-result', result: { a: 1 } }] }];
    const span = spanWith({ 'ai.prompt.messages': JSON.stringify(messages) }, 'ai.generateText.doGenerate');
    expect(row(span).text_custom_metrics).toMatchObject(inputColumnsOf('{"a":1}'));
  });
});

describe('the request model', () => {
  it('reads OpenInference’s request model from llm.invocation_parameters', () => {
    const span = captured('openinference-openai', 'chat', 'OpenAI Chat Completions');
    expect(row(span).custom_attributes).toMatchObject({
      model: 'gpt-4o-mini-2024-07-18',
      request_model: 'gpt-4o-mini',
      response_model: 'gpt-4o-mini-2024-07-18',
    });
  });

  it.each([
    ['not JSON', '{model: gpt-4o'],
    ['without a model', '{"temperature":0.2}'],
    ['a model that is no string', '{"model":4}'],
  ])(
    'takes llm.model_name as the request model when llm.invocation_parameters is %s',
    (_case, parameters) => {
      const span = spanWith({
        'llm.model_name': 'gpt-4o-2024-08-06',
        'llm.invocation_parameters': parameters,
      });
      const attributes = row(span).custom_attributes;
      expect(attributes).toMatchObject({ model: 'gpt-4o-2024-08-06', request_model: 'gpt-4o-2024-08-06' });
      expect(attributes).not.toHaveProperty('response_model');
    },
  );
});

describe('the HTTP status of a failed call', () => {
  it.each([
    ['error-429', 429],
    ['error-500', 500],
  ])('keeps http.response.status_code of the AI SDK 7 (%s) as http_status_code', (scenario, status) => {
    const span = captured('ai7', scenario, `chat ${scenario}`);
    expect(row(span).custom_attributes).toMatchObject({ http_status_code: status });
  });

  it('leaves out a status that is not an integer', () => {
    const span = spanWith({ 'gen_ai.request.model': 'gpt-4o', 'http.response.status_code': '429' });
    expect(row(span).custom_attributes).not.toHaveProperty('http_status_code');
  });
});

describe('the user of a span that names none', () => {
  it('takes the user the span processor noted on an ancestor', () => {
    const span = captured('ai7', 'chat', 'chat gpt-4o-mini');
    expect(row(span, { inheritedUserId: 'user-ai7-0001' }).custom_attributes).toMatchObject({
      user_id: 'user-ai7-0001',
    });
  });

  it('keeps the span’s own user over an inherited one', () => {
    const span = captured('ai7', 'chat', 'invoke_agent gpt-4o-mini');
    expect(row(span, { inheritedUserId: 'someone-else' }).custom_attributes).toMatchObject({
      user_id: 'user-ai7-0001',
    });
  });
});

describe('a streamed call: time to first token, timings, request settings', () => {
  it('takes the AI SDK 6 doStream span’s ai.response.msToFirstChunk (milliseconds)', () => {
    const span = captured('ai6', 'chat-stream', 'ai.streamText.doStream');
    const event = row(span);
    expect(event.time_to_first_token_ms).toBe(span.attributes['ai.response.msToFirstChunk']);
    expect(event.text_custom_metrics).toMatchObject({
      ms_to_finish: span.attributes['ai.response.msToFinish'],
      output_tokens_per_second: span.attributes['ai.response.avgOutputTokensPerSecond'],
    });
    expect(event.custom_attributes).toMatchObject({ request: { stream: true } });
  });

  it('converts the AI SDK 7 chat span’s gen_ai.client.operation.* seconds to milliseconds', () => {
    const span = captured('ai7', 'chat-stream', 'chat gpt-4o-mini');
    const event = row(span);
    const seconds = span.attributes['gen_ai.client.operation.time_to_first_chunk'] as number;
    expect(event.time_to_first_token_ms).toBe(seconds * 1000);
    expect(event.text_custom_metrics).toMatchObject({
      time_per_output_chunk_ms:
        (span.attributes['gen_ai.client.operation.time_per_output_chunk'] as number) * 1000,
    });
    expect(event.custom_attributes).toMatchObject({ request: { stream: true } });
  });

  it('reads gen_ai.response.time_to_first_chunk of the GenAI conventions, in seconds', () => {
    const event = row(
      spanWith({
        'gen_ai.operation.name': 'chat',
        'gen_ai.response.time_to_first_chunk': 0.5,
        'gen_ai.request.stream': true,
      }),
    );
    expect(event.time_to_first_token_ms).toBe(500);
    expect(event.custom_attributes).toMatchObject({ request: { stream: true } });
  });

  it('keeps null where the instrumentation records no first-token time, and says a non-streamed call was not', () => {
    const streamed = row(captured('openinference-openai', 'chat-stream', 'OpenAI Chat Completions'));
    expect(streamed.time_to_first_token_ms).toBeNull();
    expect(streamed.custom_attributes).toMatchObject({ request: { stream: true } });
    const plain = row(captured('ai6', 'chat', 'ai.generateText.doGenerate'));
    expect(plain.time_to_first_token_ms).toBeNull();
    expect(plain.custom_attributes).toMatchObject({ request: { stream: false } });
  });

  it('ignores a first-token time that is not a duration', () => {
    for (const value of [-1, Number.NaN, 'fast']) {
      expect(
        row(spanWith({ 'gen_ai.operation.name': 'chat', 'ai.response.msToFirstChunk': value }))
          .time_to_first_token_ms,
      ).toBeNull();
    }
  });

  it('keeps the request settings OpenLLMetry records: temperature and max tokens', () => {
    const event = row(captured('openllmetry-openai', 'chat', 'chat gpt-4o-mini'));
    expect(event.custom_attributes).toMatchObject({ request: { temperature: 0.2, max_tokens: 64 } });
  });

  it('names the tool choice the AI SDK records', () => {
    const event = row(
      spanWith({
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.prompt.toolChoice': '{"type":"tool","toolName":"weather"}',
      }),
    );
    expect(event.custom_attributes).toMatchObject({
      request: { stream: false, tool_choice: 'tool:weather' },
    });
  });
});

/** A span built from the GenAI conventions' own examples (semantic-conventions-genai model/gen-ai/registry.yaml). */
describe('the newest GenAI conventions', () => {
  it('keeps the agent id, the prompt name, the tool call id and the per-modality token counts', () => {
    const event = row(
      spanWith({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.agent.id': 'asst_5j66UpCpwteGg4YSxUnt7lPY',
        'gen_ai.agent.name': 'Math Tutor',
        'gen_ai.prompt.name': 'analyze-code',
        'gen_ai.tool.call.id': 'call_mszuSIzqtI65i1wAUOE8w5H4',
        'gen_ai.response.id': 'chatcmpl-123',
        'gen_ai.response.finish_reasons': ['stop', 'length'],
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.text.input_tokens': 90,
        'gen_ai.usage.image.input_tokens': 40,
        'gen_ai.usage.audio.input_tokens': 10,
        'gen_ai.usage.video.input_tokens': 20,
        'gen_ai.usage.output_tokens': 180,
        'gen_ai.usage.text.output_tokens': 170,
        'gen_ai.usage.audio.output_tokens': 10,
      }),
    );
    expect(event.finish_reason).toBe('stop');
    expect(event.custom_attributes).toMatchObject({
      agent_id: 'asst_5j66UpCpwteGg4YSxUnt7lPY',
      agent_name: 'Math Tutor',
      prompt_name: 'analyze-code',
      tool_call_id: 'call_mszuSIzqtI65i1wAUOE8w5H4',
      response_id: 'chatcmpl-123',
      finish_reasons: ['stop', 'length'],
    });
    expect(event.text_custom_metrics).toMatchObject({
      text_input_tokens: 90,
      image_input_tokens: 40,
      audio_input_tokens: 10,
      video_input_tokens: 20,
      text_output_tokens: 170,
      audio_output_tokens: 10,
    });
    expect(event.input_tokens).toBe(100);
  });

  it('lists the gen_ai.evaluation.result events of an evaluation span', () => {
    const span = spanWith({ 'gen_ai.operation.name': 'chat' }, 'evaluate answer');
    const withEvents = {
      ...span,
      events: [
        {
          name: 'gen_ai.evaluation.result',
          time: span.startTime,
          attributes: {
            'gen_ai.evaluation.name': 'Relevance',
            'gen_ai.evaluation.score.value': 4.0,
            'gen_ai.evaluation.score.label': 'relevant',
            'gen_ai.evaluation.explanation': 'The response is factually accurate.',
          },
        },
        {
          name: 'gen_ai.evaluation.result',
          time: span.startTime,
          attributes: { 'gen_ai.evaluation.name': 'groundedness', 'gen_ai.evaluation.score.label': 'fail' },
        },
      ],
    } as ReadableSpan;
    expect(row(withEvents).custom_attributes?.['evaluations']).toEqual([
      {
        name: 'Relevance',
        score_value: 4,
        score_label: 'relevant',
        explanation: 'The response is factually accurate.',
      },
      { name: 'groundedness', score_label: 'fail' },
    ]);
  });

  it('counts reasoning parts as text in no convention: AI SDK prompt messages measure as GenAI messages do', () => {
    const aiSdk = row(
      spanWith({
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.prompt.messages': JSON.stringify([
          { role: 'user', content: [{ type: 'text', text: 'Why?' }] },
          {
            role: 'assistant',
            content: [
              { type: 'reasoning', text: 'Let me think.' },
              { type: 'text', text: 'Because.' },
            ],
          },
        ]),
      }),
    );
    const genAi = row(
      spanWith({
        'gen_ai.operation.name': 'chat',
        'gen_ai.input.messages': JSON.stringify([
          { role: 'user', parts: [{ type: 'text', content: 'Why?' }] },
          {
            role: 'assistant',
            parts: [
              { type: 'reasoning', content: 'Let me think.' },
              { type: 'text', content: 'Because.' },
            ],
          },
        ]),
      }),
    );
    expect(aiSdk.text_custom_metrics?.['input_char_count']).toBe(
      genAi.text_custom_metrics?.['input_char_count'],
    );
    expect(aiSdk.text_custom_metrics).toMatchObject(inputColumnsOf('Why?\nBecause.'));
  });
});
