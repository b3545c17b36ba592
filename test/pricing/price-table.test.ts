/**
 * Which rates price a model: custom prices first, then the bundled table, at
 * the price in force on the call's day, for the model names the proven
 * instrumentations really send.
 */
import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { PriceTable } from '../../src/pricing/price-table.js';

const DAY = Date.parse('2026-11-02T10:00:00Z');
const bundled = new PriceTable();
const find = (model: string, provider?: string, atMillis = DAY) =>
  bundled.find({ model, provider, atMillis });

/** genai-prices' own answer for a model, for comparison (its calcPrice, not the package's lookup). */
function libraryRates(model: string, providerId?: string) {
  return calcPrice({}, model, { providerId, timestamp: new Date(DAY) })?.model_price;
}

describe('the bundled price table', () => {
  it('names its source with the installed version', () => {
    expect(bundled.bundledSource).toMatch(/^@pydantic\/genai-prices@\d+\.\d+\.\d+$/);
    expect(find('gpt-4o-mini', 'openai')?.source).toBe(bundled.bundledSource);
  });

  it.each([
    // [model as the span names it, provider column, genai-prices' provider id, its name for the model]
    ['gpt-4o-mini', 'openai', 'openai', 'gpt-4o-mini'],
    ['gpt-4o-mini-2024-07-18', 'openai', 'openai', 'gpt-4o-mini'],
    ['text-embedding-3-small', 'openai', 'openai', 'text-embedding-3-small'],
    ['claude-sonnet-4-5-20250929', 'anthropic', 'anthropic', 'claude-sonnet-4-5'],
    [
      'anthropic.claude-3-haiku-20240307-v1:0',
      'aws.bedrock',
      'aws',
      'regional.anthropic.claude-3-haiku-20240307-v1:0',
    ],
    [
      'us.anthropic.claude-3-5-sonnet-20241022-v2:0',
      'aws.bedrock',
      'aws',
      'regional.anthropic.claude-3-5-sonnet-20241022-v2:0',
    ],
    ['openai/gpt-4o-mini', 'openrouter', 'openrouter', 'openai/gpt-4o-mini'],
    ['gpt-4o', 'azure.ai.openai', 'azure', 'gpt-4o'],
    ['gemini-2.5-flash', 'gcp.gemini', 'google', 'gemini-2.5-flash'],
    ['gemini-2.5-flash', 'gcp.vertex_ai', 'google', 'gemini-2.5-flash'],
    ['mistral-large-latest', 'mistral_ai', 'mistral', 'mistral-large'],
    ['grok-3', 'x_ai', 'x-ai', 'grok-3'],
    ['gpt-4o-mini', undefined, 'openai', 'gpt-4o-mini'],
  ])('finds %s (provider %s) as %s:%s', (model, provider, providerId, id) => {
    const found = find(model, provider);
    expect(found?.pricedAs).toBe(`${providerId}:${id}`);
    expect(found?.rates).toEqual(libraryRates(id, providerId));
  });

  it("prices a known provider's call to another provider's model by the model (a proxy), but guesses nothing for a self-hosted provider", () => {
    expect(find('claude-3-5-haiku-latest', 'openai')?.pricedAs).toBe('anthropic:claude-3-5-haiku-latest');
    expect(find('gpt-4o-mini', 'openrouter')?.pricedAs).toBe('openai:gpt-4o-mini');
    expect(find('llama3', 'ollama')).toBeUndefined();
    expect(find('gpt-4o-mini', 'ollama')).toBeUndefined();
  });

  it('has no price for an unknown model, an Azure deployment name, an empty or an overlong name', () => {
    expect(find('my-company-model-v3', 'openai')).toBeUndefined();
    expect(find('prod-gpt4o-deployment', 'azure.ai.openai')).toBeUndefined();
    expect(find('', 'openai')).toBeUndefined();
    expect(find(`gpt-4o-mini${'x'.repeat(300)}`, 'openai')).toBeUndefined();
  });

  it('applies the price in force on the day a call started, from a price change the table records', () => {
    const withChange = findModelWithStartDate();
    const before = find(withChange.model, withChange.provider, Date.parse(withChange.startDate) - 1);
    const after = find(withChange.model, withChange.provider, Date.parse(withChange.startDate));
    expect(before?.rates).not.toEqual(after?.rates);
    expect(after?.since).toBe(withChange.startDate);
    expect(after?.rates).toEqual(
      calcPrice({}, withChange.model, {
        providerId: withChange.provider,
        timestamp: new Date(withChange.startDate),
      })?.model_price,
    );
  });
});

/** A model of the bundled table whose price changes on a start date (found, not assumed). */
function findModelWithStartDate(): { model: string; provider: string; startDate: string } {
  for (const provider of ['anthropic', 'openai', 'google', 'deepseek', 'mistral', 'x-ai']) {
    for (const model of findProvider({ providerId: provider })?.models ?? []) {
      if (!Array.isArray(model.prices)) continue;
      const change = model.prices.find((p) => p.constraint?.type === 'start_date');
      const asked = calcPrice({}, model.id, { providerId: provider });
      if (change?.constraint?.type === 'start_date' && asked?.model.id === model.id) {
        return { model: model.id, provider, startDate: change.constraint.start_date };
      }
    }
  }
  throw new Error('no model of the bundled table has a dated price change');
}
