/**
 * pricesAutoUpdate: off by default (no network); on, the exporter prices with
 * the published data once fetched and names it in price_source; a failed
 * fetch keeps the prices in use and says so once. The published file is
 * stood in for by a function returning genai-prices' own data, changed.
 */
import { describe, expect, it } from 'vitest';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import { defaultPriceTable } from '../../src/pricing/price-table.js';
import { MetricEventsSpanExporter } from '../../src/index.js';
import { resolveOptions } from '../../src/config/options.js';
import { ConsoleWarnings } from '../../src/warnings.js';
import * as other from '../fixtures/spans/other-instrumentations.js';
import { bundledProviders } from '../support/genai-prices.js';
import { bundledRates } from '../conformance/expected.js';

/** genai-prices' data with gpt-4o-mini at new rates, as a later published file would have it. */
function publishedData(inputMtok: number, outputMtok: number): unknown {
  const providers = structuredClone(bundledProviders());
  const openai = providers.find((provider) => provider.id === 'openai')!;
  const model = openai.models.find((m) => m.id === 'gpt-4o-mini')!;
  model.prices = { input_mtok: inputMtok, output_mtok: outputMtok };
  return providers;
}

/**
 * The row the exporter maps for a contrib-OpenAI chat span (14 input, 6 output tokens): the exporter
 * without custom prices maps with the shared bundled table, the one an update changes.
 */
function mappedRow() {
  return toMetricEvent(other.contribOpenAiChat(), { prices: defaultPriceTable() })!;
}

describe('price updates', () => {
  it('are off by default: the exporter starts no fetch', () => {
    expect(resolveOptions({}).pricesAutoUpdate).toBe(false);
    expect(new MetricEventsSpanExporter({ url: 'unused-folder' }).priceUpdates).toBeUndefined();
  });

  // Before any update: genai-prices keeps the last data it was given for the rest of this file.
  it('keep the prices in use when the fetch fails, and say so once', async () => {
    const lines: string[] = [];
    const warnings = new ConsoleWarnings(true, (line) => lines.push(line), new Set());
    const exporter = new MetricEventsSpanExporter(
      { url: 'unused-folder', pricesAutoUpdate: true },
      {},
      {
        warnings,
        priceData: async () => Promise.reject(new Error('getaddrinfo ENOTFOUND raw.githubusercontent.com')),
      },
    );
    await exporter.priceUpdates!.current;
    const row = mappedRow();
    await exporter.shutdown();
    expect(lines).toEqual([
      expect.stringContaining(
        'could not update the price table (getaddrinfo ENOTFOUND raw.githubusercontent.com)',
      ),
    ]);
    const rates = bundledRates('gpt-4o-mini');
    expect(row.cost_usd).toBeCloseTo((14 * rates['input_mtok']! + 6 * rates['output_mtok']!) / 1e6, 12);
  });
  it('price with the published data once fetched, and name it in price_source', async () => {
    const exporter = new MetricEventsSpanExporter(
      { url: 'unused-folder', pricesAutoUpdate: true },
      {},
      { priceData: async () => publishedData(100, 200) },
    );
    await exporter.priceUpdates!.current;
    const row = mappedRow();
    await exporter.shutdown();
    expect(row.cost_usd).toBeCloseTo((14 * 100 + 6 * 200) / 1e6, 12);
    expect(row.text_custom_metrics?.['price_source']).toMatch(
      new RegExp(
        `^@pydantic/genai-prices@\\d+\\.\\d+\\.\\d+\\+data-${new Date().toISOString().slice(0, 10)}$`,
      ),
    );
  });
});
