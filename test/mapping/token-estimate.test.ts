/**
 * Which rows get their tokens estimated, and how a row takes the counts: the
 * pure part of estimation (the counting itself runs in the exporter's worker,
 * test/export/token-estimate.test.ts). Spans are the captured output of the
 * real instrumentations.
 */
import { describe, expect, it } from 'vitest';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import {
  CHAT_FRAMING_TOKENS,
  scaledCount,
  tokenizerOf,
  withEstimatedTokens,
  type TokensToEstimate,
} from '../../src/mapping/token-estimate.js';
import type { MappingOptions, SpanLike } from '../../src/mapping/span-like.js';
import { checkCustomPricesOption } from '../../src/pricing/custom-prices.js';
import { PriceTable, defaultPriceTable } from '../../src/pricing/price-table.js';
import { repriceRow } from '../../src/pricing/reprice-row.js';
import type { StoredCostColumns } from '../../src/schema/columns.js';
import { loadCapturedSpans } from '../support/captured-span.js';
import { CHAT_QUESTION, EMBEDDING_INPUT } from '../support/capture/prompts.js';
import { CHAT_ANSWER } from '../support/fake-llm-server.js';
import { bundledRates } from '../conformance/expected.js';

/** The row of a span and the estimate it asks for (undefined: none). */
function mapWithNeed(span: SpanLike, options: MappingOptions = {}) {
  const needs: TokensToEstimate[] = [];
  const row = toMetricEvent(span, { ...options, estimateTokens: (need) => needs.push(need) });
  expect(needs.length).toBeLessThanOrEqual(1);
  return { row: row!, need: needs[0] };
}

function modelCall(instrumentation: string, scenario: string): SpanLike {
  const spans = loadCapturedSpans(instrumentation, scenario);
  const found = spans.filter((span) => {
    const row = toMetricEvent(span);
    return row?.operation_type === 'llm_call' || row?.operation_type === 'embedding';
  });
  expect(found, `${instrumentation} ${scenario}: one model call`).toHaveLength(1);
  return found[0]!;
}

/** A copy of a captured span with some attributes changed. */
function withAttributes(span: SpanLike, changes: Record<string, unknown>): SpanLike {
  return { ...span, attributes: { ...span.attributes, ...changes } } as SpanLike;
}

describe('tokenizerOf: OpenAI model families only', () => {
  it.each([
    ['gpt-4o-mini', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['gpt-5.2-codex', 'o200k_base'],
    ['o3-mini', 'o200k_base'],
    ['o1', 'o200k_base'],
    ['chatgpt-4o-latest', 'o200k_base'],
    ['openai/gpt-4o', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-turbo-2024-04-09', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['text-embedding-3-small', 'cl100k_base'],
    ['text-embedding-ada-002', 'cl100k_base'],
  ])('%s → %s', (model, tokenizer) => {
    expect(tokenizerOf(model)).toBe(tokenizer);
  });

  it.each([
    'claude-3-5-sonnet-latest',
    'gemini-2.0-flash',
    'llama-3.1-70b',
    'mistral-large',
    'o1x',
    'gpt-4o0',
    'error-429',
  ])('%s has no tokenizer here', (model) => {
    expect(tokenizerOf(model)).toBeUndefined();
  });
});

describe('which spans are estimated', () => {
  it('a streamed OpenLLMetry chat (no usage): its prompt and answer, with the chat framing', () => {
    const { row, need } = mapWithNeed(modelCall('openllmetry-openai', 'chat-stream'));
    expect(row.input_tokens).toBeNull();
    expect(need).toMatchObject({
      tokenizer: 'o200k_base',
      input: { text: CHAT_QUESTION, length: CHAT_QUESTION.length },
      output: { text: CHAT_ANSWER.text, length: CHAT_ANSWER.text!.length },
      inputFraming: CHAT_FRAMING_TOKENS,
      models: { request: 'gpt-4o-mini', response: 'gpt-4o-mini-2024-07-18' },
      provider: 'openai',
    });
  });

  it('a streamed OpenInference chat (no usage)', () => {
    const { need } = mapWithNeed(modelCall('openinference-openai', 'chat-stream'));
    expect(need).toMatchObject({ tokenizer: 'o200k_base', input: { text: CHAT_QUESTION } });
  });

  it('an OpenInference embedding: its input only, with cl100k_base and no framing', () => {
    const { need } = mapWithNeed(modelCall('openinference-openai', 'embedding'));
    expect(need).toMatchObject({
      tokenizer: 'cl100k_base',
      input: { text: EMBEDDING_INPUT },
      output: undefined,
      inputFraming: 0,
    });
  });

  it.each([
    ['openllmetry-openai', 'chat'],
    ['openinference-openai', 'chat'],
    ['contrib-openai', 'chat-stream'],
    ['ai6', 'chat-stream'],
    ['ai7', 'chat-stream'],
  ])('never a span that carries usage: %s %s', (instrumentation, scenario) => {
    const spans = loadCapturedSpans(instrumentation, scenario);
    for (const span of spans) expect(mapWithNeed(span).need, span.name).toBeUndefined();
  });

  it('never a span that reports a single count (an output count alone)', () => {
    const span = withAttributes(modelCall('openllmetry-openai', 'chat-stream'), {
      'gen_ai.usage.output_tokens': 13,
    });
    expect(mapWithNeed(span).need).toBeUndefined();
  });

  it('never a span whose count is not a count', () => {
    const span = withAttributes(modelCall('openllmetry-openai', 'chat-stream'), {
      'gen_ai.usage.input_tokens': 'many',
    });
    expect(mapWithNeed(span).need).toBeUndefined();
  });

  it('never a failed call: a refused call is not billed', () => {
    for (const instrumentation of ['openllmetry-openai', 'openinference-openai', 'ai7']) {
      for (const span of loadCapturedSpans(instrumentation, 'error-500')) {
        expect(mapWithNeed(span).need, `${instrumentation} ${span.name}`).toBeUndefined();
      }
    }
  });

  it('never a model the package has no tokenizer for', () => {
    const span = withAttributes(modelCall('openllmetry-openai', 'chat-stream'), {
      'gen_ai.request.model': 'claude-3-5-haiku-latest',
      'gen_ai.response.model': 'claude-3-5-haiku-20241022',
      'gen_ai.provider.name': 'anthropic',
    });
    expect(mapWithNeed(span).need).toBeUndefined();
  });

  it('never a span whose charge was reported', () => {
    const span = withAttributes(modelCall('openllmetry-openai', 'chat-stream'), {
      'gen_ai.usage.cost': 0.002,
    });
    const { row, need } = mapWithNeed(span);
    expect(row.cost_usd).toBe(0.002);
    expect(need).toBeUndefined();
  });

  it('never a wrapper span whose usage is its children’s', () => {
    const { need } = mapWithNeed(modelCall('openllmetry-openai', 'chat-stream'), { parentIsModelCall: true });
    expect(need).toBeUndefined();
  });

  it('never a span whose prompt was read only in part (longer than maxMeasuredBytes): its count would be too low', () => {
    const long = 'word '.repeat(2_000);
    const span = withAttributes(modelCall('openllmetry-openai', 'chat-stream'), {
      'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: long }] }]),
    });
    const { row, need } = mapWithNeed(span, { maxMeasuredBytes: 4_096 });
    expect(row.text_custom_metrics?.['partial_metrics']).toContain('input_*');
    expect(need).toBeUndefined();
    expect(mapWithNeed(span).need?.input?.text).toBe(long);
  });
});

describe('scaledCount', () => {
  it('keeps a count of the whole text', () => {
    expect(scaledCount(12, { text: 'abc', length: 3 })).toBe(12);
  });

  it('scales a head’s count to the whole text by its length', () => {
    expect(scaledCount(100, { text: 'x'.repeat(1_000), length: 4_000 })).toBe(400);
  });
});

describe('withEstimatedTokens', () => {
  const { row, need } = mapWithNeed(modelCall('openllmetry-openai', 'chat-stream'));

  it('fills the token columns: input with the framing, output, their total', () => {
    const estimated = withEstimatedTokens(row, need!, { input: 7, output: 13 }, defaultPriceTable());
    expect(estimated).toMatchObject({
      input_tokens: 7 + CHAT_FRAMING_TOKENS,
      output_tokens: 13,
      total_tokens: 7 + CHAT_FRAMING_TOKENS + 13,
      cache_read_tokens: null,
      reasoning_tokens: null,
    });
  });

  it('prices them at the bundled rates as `estimated`, and says so in text_custom_metrics', () => {
    const estimated = withEstimatedTokens(row, need!, { input: 7, output: 13 }, defaultPriceTable());
    const rates = bundledRates('gpt-4o-mini');
    const input = 7 + CHAT_FRAMING_TOKENS;
    expect(estimated.cost_usd).toBeCloseTo(
      (input * rates['input_mtok']! + 13 * rates['output_mtok']!) / 1e6,
      15,
    );
    expect(estimated.text_custom_metrics).toMatchObject({
      cost_source: 'estimated',
      price_source: expect.stringMatching(/^@pydantic\/genai-prices@/),
      priced_as: 'openai:gpt-4o-mini',
      tokens_estimated: true,
      tokenizer: 'o200k_base',
      input_char_count: CHAT_QUESTION.length,
    });
    expect(Object.keys(estimated.text_custom_metrics!)[0]).toBe('cost_source');
  });

  it('leaves the row as it was when nothing was counted', () => {
    expect(
      withEstimatedTokens(row, need!, { input: undefined, output: undefined }, defaultPriceTable()),
    ).toBe(row);
  });

  it('leaves the mapped row itself untouched', () => {
    withEstimatedTokens(row, need!, { input: 7, output: 13 }, defaultPriceTable());
    expect(row.input_tokens).toBeNull();
    expect(row.text_custom_metrics?.['cost_source']).toBe('no_usage');
  });
});

it('a row re-priced later (llamonitor reprice) is still priced as estimated, from its estimated tokens', () => {
  const { row, need } = mapWithNeed(modelCall('openllmetry-openai', 'chat-stream'));
  const estimated = withEstimatedTokens(row, need!, { input: 7, output: 13 }, defaultPriceTable());
  const custom = new PriceTable(
    checkCustomPricesOption({
      models: [{ match: 'gpt-4o-mini', prices: { input_mtok: 10, output_mtok: 20 } }],
    }),
  );
  // The estimated counts are numbers (int64 columns may hold bigints; these do not): the row as a store returns it.
  const repriced = repriceRow(custom, estimated as StoredCostColumns);
  expect(repriced).toMatchObject({
    cost_usd: expect.closeTo(((7 + CHAT_FRAMING_TOKENS) * 10 + 13 * 20) / 1e6, 15),
    text_custom_metrics: expect.objectContaining({ cost_source: 'estimated', tokens_estimated: true }),
  });
});
