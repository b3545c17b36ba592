/**
 * The cost arithmetic against genai-prices' own calcPrice, over every price
 * of every model in the bundled table: the package finds a model once and
 * does the arithmetic itself (price-table.ts), so the two must agree.
 */
import { calcPrice, type ModelInfo, type ModelPrice, type Provider } from '@pydantic/genai-prices';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callCost, rateFor, type CallTokens } from '../../src/pricing/call-cost.js';
import { priceInForce } from '../../src/pricing/price-table.js';
import { bundledProviders } from '../support/genai-prices.js';

/** Each model with each of its prices, and a time at which that price is in force. */
function pricedModels(): { provider: Provider; model: ModelInfo; price: ModelPrice; at: Date }[] {
  const all = [];
  for (const provider of bundledProviders()) {
    for (const model of provider.models) {
      if (!Array.isArray(model.prices)) {
        all.push({ provider, model, price: model.prices, at: new Date('2026-06-01T12:00:00Z') });
        continue;
      }
      for (const conditional of model.prices) {
        const constraint = conditional.constraint;
        let at = new Date('2020-01-01T12:00:00Z');
        if (constraint?.type === 'start_date') at = new Date(`${constraint.start_date}T12:00:00Z`);
        else if (constraint?.type === 'time_of_date') at = new Date(`2026-06-01T${constraint.start_time}`);
        if (priceInForce(model, at.getTime()).price === conditional.prices) {
          all.push({ provider, model, price: conditional.prices, at });
        }
      }
    }
  }
  return all;
}

const MODELS = pricedModels();

const usage = fc
  .record({
    input: fc.integer({ min: 0, max: 400_000 }),
    cacheReadShare: fc.double({ min: 0, max: 1, noNaN: true }),
    cacheWriteShare: fc.double({ min: 0, max: 1, noNaN: true }),
    output: fc.integer({ min: 0, max: 100_000 }),
    reasoningShare: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ input, cacheReadShare, cacheWriteShare, output, reasoningShare }) => {
    const cacheRead = Math.floor(input * cacheReadShare);
    const cacheWrite = Math.floor((input - cacheRead) * cacheWriteShare);
    return {
      input_tokens: input,
      cache_read_tokens: cacheRead,
      cache_write_tokens: cacheWrite,
      output_tokens: output,
      reasoning_tokens: Math.floor(output * reasoningShare),
    } satisfies CallTokens;
  });

describe('the cost of a call', () => {
  it('reads a few hundred models from the bundled table', () => {
    expect(MODELS.length).toBeGreaterThan(300);
    expect(MODELS.some(({ price }) => typeof price['input_mtok'] === 'object')).toBe(true);
    expect(MODELS.some(({ price }) => price['output_reasoning_mtok'] !== undefined)).toBe(true);
    expect(MODELS.some(({ price }) => price['requests_kcount'] !== undefined)).toBe(true);
  });

  it('equals genai-prices calcPrice for every price of every model, cached, written and reasoning tokens included', () => {
    fc.assert(
      fc.property(fc.constantFrom(...MODELS), usage, ({ provider, model, price, at }, tokens) => {
        const expected = calcPrice(
          {
            input_tokens: tokens.input_tokens,
            cache_read_tokens: tokens.cache_read_tokens,
            cache_write_tokens: tokens.cache_write_tokens,
            output_tokens: tokens.output_tokens,
            output_reasoning_tokens: tokens.reasoning_tokens,
          },
          model.id,
          { provider, timestamp: at },
        );
        // A model whose id its own rule does not match cannot be asked for by id: the draw is skipped.
        fc.pre(expected !== null && expected.model.id === model.id);
        expect(expected!.model_price).toEqual(price);
        const cost = callCost(price as never, tokens);
        if (typeof cost === 'string') throw new Error(`${model.id}: ${cost}`);
        expect(cost.total).toBeCloseTo(expected!.total_price, 12);
        expect(cost.input + cost.cacheRead + cost.cacheWrite).toBeCloseTo(expected!.input_price, 12);
        expect(cost.output).toBeCloseTo(expected!.output_price, 12);
      }),
      { numRuns: 3000 },
    );
  });

  it('prices each part at its own rate: uncached input, cache reads, cache writes, output', () => {
    const rates = { input_mtok: 3, cache_read_mtok: 0.3, cache_write_mtok: 3.75, output_mtok: 15 };
    const cost = callCost(rates, {
      input_tokens: 1_000_000,
      cache_read_tokens: 200_000,
      cache_write_tokens: 100_000,
      output_tokens: 10_000,
      reasoning_tokens: 4_000,
    });
    expect(cost).toEqual({
      total: 2.1 + 0.06 + 0.375 + 0.15,
      input: 2.1,
      cacheRead: 0.06,
      cacheWrite: 0.375,
      output: 0.15,
      requests: 0,
    });
  });

  it('prices cache writes at the input rate and reasoning at the output rate where the price has no rate of its own', () => {
    const cost = callCost(
      { input_mtok: 2, output_mtok: 8 },
      {
        input_tokens: 500_000,
        cache_read_tokens: 100_000,
        cache_write_tokens: 100_000,
        output_tokens: 250_000,
        reasoning_tokens: 200_000,
      },
    );
    expect(cost).toMatchObject({ total: 1 + 2, input: 1, cacheRead: 0, cacheWrite: 0, output: 2 });
  });

  it('takes a tiered price from the whole input count, past the tier start only', () => {
    const tiered = { base: 3, tiers: [{ start: 200_000, price: 6 }] };
    expect(rateFor(tiered, 200_000)).toBe(3);
    expect(rateFor(tiered, 200_001)).toBe(6);
    const cost = callCost({ input_mtok: tiered, output_mtok: 15 }, tokens(300_000, 0));
    expect(cost).toMatchObject({ total: 1.8, input: 1.8 });
  });

  it('has no price without an input count, or with cache parts above the input count', () => {
    const rates = { input_mtok: 1, cache_read_mtok: 0.1, output_mtok: 2 };
    expect(callCost(rates, { ...tokens(0, 10), input_tokens: null })).toBe('no_usage');
    expect(callCost(rates, { ...tokens(10, 10), cache_read_tokens: 11 })).toBe('invalid_usage');
    expect(callCost(rates, { ...tokens(10, 10), reasoning_tokens: 11 })).toMatchObject({ output: 20 / 1e6 });
  });

  it('adds a price per request once per call', () => {
    expect(callCost({ input_mtok: 0, requests_kcount: 5 }, tokens(10, 0))).toMatchObject({
      total: 0.005,
      requests: 0.005,
    });
  });
});

function tokens(input: number, output: number): CallTokens {
  return {
    input_tokens: input,
    output_tokens: output,
    cache_read_tokens: null,
    cache_write_tokens: null,
    reasoning_tokens: null,
  };
}
