/**
 * The cost of a span's call in its row: the provider's reported charge first,
 * else its tokens at the rates in force when it started; NULL (never 0) with
 * the reason when there is no price; a wrapper's cost kept apart.
 */
import { SpanKind, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import { checkCustomPricesOption } from '../../src/pricing/custom-prices.js';
import { PriceTable } from '../../src/pricing/price-table.js';
import { recordSpans } from '../fixtures/spans/record.js';
import * as other from '../fixtures/spans/other-instrumentations.js';
import { bundledRates } from '../conformance/expected.js';

/** A chat call as the contrib OpenAI instrumentation records it, plus `extra` attributes, started at `start`. */
function chatSpan(extra: Attributes = {}, start?: Date): ReadableSpan {
  return recordSpans({ scope: { name: 'openlit', version: '1.9.0' } }, (tracer) => {
    const span = tracer.startSpan('chat gpt-4o-mini', {
      kind: SpanKind.CLIENT,
      startTime: start,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
        'gen_ai.usage.input_tokens': 1200,
        'gen_ai.usage.output_tokens': 300,
        ...extra,
      },
    });
    span.end(start === undefined ? undefined : new Date(start.getTime() + 800));
  })[0]!;
}

const RATES = bundledRates('gpt-4o-mini');
const COMPUTED = (1200 * RATES['input_mtok']! + 300 * RATES['output_mtok']!) / 1e6;

describe('the cost of a call', () => {
  it('prices the tokens at the bundled rates of the response model, and says so', () => {
    const row = toMetricEvent(chatSpan())!;
    expect(row.cost_usd).toBeCloseTo(COMPUTED, 15);
    expect(row.text_custom_metrics).toMatchObject({
      cost_source: 'computed',
      price_source: expect.stringMatching(/^@pydantic\/genai-prices@\d/),
      priced_as: 'openai:gpt-4o-mini',
      cost_input_usd: expect.closeTo((1200 * RATES['input_mtok']!) / 1e6, 15),
      cost_output_usd: expect.closeTo((300 * RATES['output_mtok']!) / 1e6, 15),
    });
    // No cache counts reported: no cache parts claimed.
    expect(row.text_custom_metrics).not.toHaveProperty('cost_cache_read_usd');
  });

  it.each([
    ['gen_ai.usage.cost (OpenLIT)', { 'gen_ai.usage.cost': 0.0042 }, 'span:gen_ai.usage.cost', {}],
    [
      'llm.cost.total (OpenInference)',
      { 'llm.cost.total': 0.0042, 'llm.cost.completion': 0.003, 'llm.cost.prompt_details.input': 0.0012 },
      'span:llm.cost.total',
      { cost_output_usd: 0.003, cost_input_usd: 0.0012 },
    ],
    [
      'langfuse.observation.cost_details',
      {
        'langfuse.observation.cost_details': JSON.stringify({ input: 0.001, output: 0.0032, total: 0.0042 }),
      },
      'span:langfuse.observation.cost_details',
      { cost_input_usd: 0.001, cost_output_usd: 0.0032 },
    ],
    [
      "OpenRouter's usage cost in the AI SDK's provider metadata",
      {
        'ai.response.providerMetadata': JSON.stringify({
          openrouter: { usage: { promptTokens: 1200, completionTokens: 300, cost: 0.0042 } },
        }),
      },
      'span:ai.response.providerMetadata.openrouter.usage.cost',
      {},
    ],
  ])(
    'takes the charge the span reports (%s) over any computation',
    (_source, attributes, priceSource, parts) => {
      const row = toMetricEvent(chatSpan(attributes))!;
      expect(row.cost_usd).toBe(0.0042);
      expect(row.text_custom_metrics).toMatchObject({
        cost_source: 'reported',
        price_source: priceSource,
        ...parts,
      });
      expect(row.text_custom_metrics).not.toHaveProperty('priced_as');
    },
  );

  it('ignores a reported charge that is not an amount of dollars, and computes instead', () => {
    for (const cost of [-1, Number.NaN, 'free', '0x10', true]) {
      const row = toMetricEvent(chatSpan({ 'gen_ai.usage.cost': cost as never }))!;
      expect(row.cost_usd, String(cost)).toBeCloseTo(COMPUTED, 15);
      expect(row.text_custom_metrics?.['cost_source']).toBe('computed');
    }
    expect(toMetricEvent(chatSpan({ 'gen_ai.usage.cost': '0.5' }))!.cost_usd).toBe(0.5);
  });

  it('stores NULL, never 0, for a model no table knows, with cost_source unknown_model', () => {
    const row = toMetricEvent(
      chatSpan({ 'gen_ai.request.model': 'acme-llm-9', 'gen_ai.response.model': 'acme-llm-9-0611' }),
    )!;
    expect(row.cost_usd).toBeNull();
    expect(row.model).toBe('acme-llm-9');
    expect(row.text_custom_metrics).toMatchObject({ cost_source: 'unknown_model', input_tokens: 1200 });
    expect(row.text_custom_metrics).not.toHaveProperty('price_source');
  });

  it('stores NULL with cost_source no_usage for a model call that reported no tokens (a failed call)', () => {
    const row = toMetricEvent(other.contribOpenAiError())!;
    expect(row.cost_usd).toBeNull();
    expect(row.text_custom_metrics).toEqual({ cost_source: 'no_usage' });
  });

  it('writes no cost keys on a span that is no model call', () => {
    const tool = recordSpans({ scope: { name: 'app' } }, (tracer) => {
      tracer
        .startSpan('execute_tool get_weather', {
          attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_weather' },
        })
        .end();
    })[0]!;
    const row = toMetricEvent(tool)!;
    expect(row.cost_usd).toBeNull();
    expect(row.text_custom_metrics ?? {}).not.toHaveProperty('cost_source');
  });

  it('prices on the request model when the table does not know the response model', () => {
    const row = toMetricEvent(chatSpan({ 'gen_ai.response.model': 'gpt-4o-mini-internal-build-7' }))!;
    expect(row.cost_usd).toBeCloseTo(COMPUTED, 15);
    expect(row.text_custom_metrics?.['priced_as']).toBe('openai:gpt-4o-mini');
  });

  it('applies the price in force when the span started, not when it is mapped', () => {
    const prices = new PriceTable(
      checkCustomPricesOption({
        models: [
          { match: 'gpt-4o-mini', prices: { input_mtok: 1, output_mtok: 2 } },
          { match: 'gpt-4o-mini', from: '2026-03-01', prices: { input_mtok: 10, output_mtok: 20 } },
        ],
      }),
    );
    const before = toMetricEvent(chatSpan({}, new Date('2026-02-28T23:59:59.900Z')), { prices })!;
    const after = toMetricEvent(chatSpan({}, new Date('2026-03-01T00:00:00Z')), { prices })!;
    expect(before.cost_usd).toBeCloseTo((1200 * 1 + 300 * 2) / 1e6, 15);
    expect(after.cost_usd).toBeCloseTo((1200 * 10 + 300 * 20) / 1e6, 15);
    expect(after.text_custom_metrics).toMatchObject({
      price_source: 'custom:code',
      priced_as: 'gpt-4o-mini',
    });
  });

  it('prices a span whose start is unreadable at the instant its row is stamped with (its end)', () => {
    const prices = new PriceTable(
      checkCustomPricesOption({
        models: [
          { match: 'gpt-4o-mini', prices: { input_mtok: 1, output_mtok: 2 } },
          { match: 'gpt-4o-mini', from: '2026-03-01', prices: { input_mtok: 10, output_mtok: 20 } },
        ],
      }),
    );
    // Ended the day before the price change: priced then, not at today's rate.
    const span = chatSpan({}, new Date('2026-02-28T23:59:58.000Z'));
    const unreadableStart = { ...span, startTime: [Number.NaN, 0] } as unknown as ReadableSpan;
    const row = toMetricEvent(unreadableStart, { prices })!;
    expect(row.timestamp).toBe('2026-02-28T23:59:58.800000Z');
    expect(row.cost_usd).toBeCloseTo((1200 * 1 + 300 * 2) / 1e6, 15);
  });

  it("keeps a wrapper's cost as aggregate_cost_usd, computed from the usage it repeats, never its reported last step", () => {
    const [, outer] = recordSpans({ scope: { name: 'ai', version: '6.0.326' } }, (tracer) => {
      const span = tracer.startSpan('ai.generateText', {
        attributes: {
          'ai.operationId': 'ai.generateText',
          'ai.model.id': 'gpt-4o-mini',
          'ai.model.provider': 'openai.chat',
          'ai.usage.inputTokens': 1200,
          'ai.usage.outputTokens': 300,
          'ai.response.providerMetadata': JSON.stringify({ openrouter: { usage: { cost: 0.0001 } } }),
        },
      });
      tracer.startSpan('inner', { attributes: { 'ai.operationId': 'ai.generateText.doGenerate' } }).end();
      span.end();
    });
    const row = toMetricEvent(outer!)!;
    expect(row.cost_usd).toBeNull();
    expect(row.input_tokens).toBeNull();
    expect(row.text_custom_metrics).toMatchObject({
      aggregate_input_tokens: 1200,
      aggregate_cost_usd: expect.closeTo(COMPUTED, 15),
      cost_source: 'computed',
    });
    expect(row.text_custom_metrics).not.toHaveProperty('cost_input_usd');
  });
});
