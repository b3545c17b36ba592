/**
 * A token count is a non-negative safe integer (a string of decimal digits
 * counts): anything else is stored as null and named under invalid_values,
 * so that `SUM((text_custom_metrics->>'input_tokens')::BIGINT)` never meets a
 * value it cannot read. Each convention's own span shape, as captured from
 * the real instrumentations, with its input-token attribute replaced.
 */
import type { AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import { tokenCount } from '../../src/mapping/tokens.js';
import { legacyChatWithImage } from '../fixtures/spans/openllmetry-legacy.js';
import { loadCapturedSpans } from '../support/captured-span.js';

/** The model-call span of a fixture, its attributes changed as given. */
function changed(span: ReadableSpan, attributes: Record<string, AttributeValue>): ReadableSpan {
  Object.assign(span.attributes, attributes);
  return span;
}

const spanNamed = (instrumentation: string, scenario: string, name: string): ReadableSpan => {
  const span = loadCapturedSpans(instrumentation, scenario).find((s) => s.name === name);
  if (!span) throw new Error(`no span ${name} in ${instrumentation}/${scenario}`);
  return span;
};

/** Per convention: a fresh model-call span, and the attributes that carry its input tokens. */
const CONVENTIONS: readonly {
  readonly convention: string;
  readonly span: () => ReadableSpan;
  readonly inputKeys: readonly string[];
  readonly metric: string;
}[] = [
  {
    convention: 'GenAI (OpenLLMetry 0.27)',
    span: () => spanNamed('openllmetry-openai', 'chat', 'chat gpt-4o-mini'),
    inputKeys: ['gen_ai.usage.input_tokens'],
    metric: 'input_tokens',
  },
  {
    convention: 'GenAI (AI SDK 7)',
    span: () => spanNamed('ai7', 'chat', 'chat gpt-4o-mini'),
    inputKeys: ['gen_ai.usage.input_tokens'],
    metric: 'input_tokens',
  },
  {
    convention: 'OpenLLMetry before 0.27',
    span: () => legacyChatWithImage(),
    inputKeys: ['gen_ai.usage.prompt_tokens'],
    metric: 'input_tokens',
  },
  {
    convention: 'OpenInference',
    span: () => spanNamed('openinference-openai', 'chat', 'OpenAI Chat Completions'),
    inputKeys: ['llm.token_count.prompt'],
    metric: 'input_tokens',
  },
  {
    convention: 'AI SDK 6 (doGenerate, ai.usage and gen_ai.usage)',
    span: () => spanNamed('ai6', 'chat', 'ai.generateText.doGenerate'),
    inputKeys: ['gen_ai.usage.input_tokens', 'ai.usage.inputTokens'],
    metric: 'input_tokens',
  },
  {
    convention: 'AI SDK 6 (the outer ai.generateText, aggregate)',
    span: () => spanNamed('ai6', 'chat', 'ai.generateText'),
    inputKeys: ['ai.usage.inputTokens'],
    metric: 'aggregate_input_tokens',
  },
];

const INVALID: readonly (readonly [string, AttributeValue])[] = [
  ['1.5', 1.5],
  ['1e300', 1e300],
  ['Number.MAX_VALUE', Number.MAX_VALUE],
  ['2^53', 2 ** 53],
  ['-1', -1],
  ['NaN', NaN],
  ['"0x10"', '0x10'],
  ['"1e3"', '1e3'],
  ['" 12"', ' 12'],
  ['"-5"', '-5'],
  ['""', ''],
  ['true', true],
  ['[12]', [12]],
];

describe.each(CONVENTIONS)('token counts of $convention', ({ span, inputKeys, metric }) => {
  it.each(INVALID)('stores %s as null and names the attribute under invalid_values', (_label, value) => {
    const bad = Object.fromEntries(inputKeys.map((key) => [key, value]));
    const metrics = toMetricEvent(changed(span(), bad))!.text_custom_metrics!;
    expect(metrics[metric]).toBeNull();
    expect(metrics['invalid_values']).toEqual(Object.fromEntries(inputKeys.map((key) => [key, 1])));
  });

  it('accepts a count given as a string of decimal digits', () => {
    const given = Object.fromEntries(inputKeys.map((key) => [key, '1234']));
    const metrics = toMetricEvent(changed(span(), given))!.text_custom_metrics!;
    expect(metrics[metric]).toBe(1234);
    expect(metrics).not.toHaveProperty('invalid_values');
  });

  it('keeps the counts of the captured span as they are, with no invalid_values', () => {
    const metrics = toMetricEvent(span())!.text_custom_metrics!;
    expect(Number.isSafeInteger(metrics[metric])).toBe(true);
    expect(metrics).not.toHaveProperty('invalid_values');
  });
});

describe('a count with a valid and an invalid source', () => {
  it('takes the valid source and still names the invalid one', () => {
    const doGenerate = changed(spanNamed('ai6', 'chat', 'ai.generateText.doGenerate'), {
      'gen_ai.usage.input_tokens': 1.5,
    });
    const metrics = toMetricEvent(doGenerate)!.text_custom_metrics!;
    expect(metrics['input_tokens']).toBe(23);
    expect(metrics['invalid_values']).toEqual({ 'gen_ai.usage.input_tokens': 1 });
  });

  it('derives no total from counts whose sum is past 2^53', () => {
    const chat = changed(spanNamed('contrib-openai', 'chat', 'chat gpt-4o-mini'), {
      'gen_ai.usage.input_tokens': Number.MAX_SAFE_INTEGER,
      'gen_ai.usage.output_tokens': 2,
    });
    expect(toMetricEvent(chat)!.text_custom_metrics).not.toHaveProperty('total_tokens');
  });

  it('names an invalid Langfuse usage detail by its field', () => {
    const chat = changed(spanNamed('contrib-openai', 'chat', 'chat gpt-4o-mini'), {
      'gen_ai.usage.input_tokens': 'x',
      'langfuse.observation.usage_details': JSON.stringify({ input: 2.5, output: 4 }),
    });
    const metrics = toMetricEvent(chat)!.text_custom_metrics!;
    expect(metrics['input_tokens']).toBeNull();
    expect(metrics['invalid_values']).toEqual({
      'gen_ai.usage.input_tokens': 1,
      'langfuse.observation.usage_details.input': 1,
    });
  });
});

describe('tokenCount', () => {
  it('is a non-negative safe integer or a string of decimal digits that makes one', () => {
    expect([0, -0, 7, Number.MAX_SAFE_INTEGER, '0', '007', '9007199254740991'].map(tokenCount)).toEqual([
      0,
      0,
      7,
      Number.MAX_SAFE_INTEGER,
      0,
      7,
      Number.MAX_SAFE_INTEGER,
    ]);
    expect(['9007199254740992', '99999999999999999', 1n, null, undefined, {}].map(tokenCount)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
