/** Custom prices: they win over the bundled table, keep a price history, and a bad file names its line and field. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { resolveOptions } from '../../src/config/options.js';
import { priceTableOf } from '../../src/config/prices.js';
import { checkCustomPricesOption, parseCustomPriceFile } from '../../src/pricing/custom-prices.js';
import { PriceTable } from '../../src/pricing/price-table.js';

const DAY = Date.parse('2026-11-02T10:00:00Z');

const FILE = `{
  "models": [
    { "match": "gpt-4o-mini", "provider": "openai", "prices": { "input_mtok": 0.1, "output_mtok": 0.4 } },
    { "match": { "starts_with": "ft:acme-support-" }, "prices": { "input_mtok": 0.3, "cache_read_mtok": 0.15, "output_mtok": 1.2 } },
    { "match": "house-llm", "prices": { "input_mtok": 0, "output_mtok": 0 } },
    { "match": "house-llm", "from": "2026-10-01", "prices": { "input_mtok": 0.05, "output_mtok": 0.05 } },
    { "match": "gpt-4o", "from": "2027-01-01", "prices": { "input_mtok": 1, "output_mtok": 4 } }
  ]
}
`;

function tableOf(text: string, file = 'prices.json'): PriceTable {
  return new PriceTable(parseCustomPriceFile(text, file));
}

describe('custom prices', () => {
  const table = tableOf(FILE);

  it('override a model of the bundled table, for its provider only', () => {
    expect(table.find({ model: 'gpt-4o-mini', provider: 'openai', atMillis: DAY })).toMatchObject({
      rates: { input_mtok: 0.1, output_mtok: 0.4 },
      source: 'custom:prices.json',
      pricedAs: 'gpt-4o-mini',
    });
    expect(table.find({ model: 'gpt-4o-mini', provider: 'azure.ai.openai', atMillis: DAY })?.source).toMatch(
      /^@pydantic\/genai-prices@/,
    );
  });

  it('add a fine-tuned model the bundled table does not know, by a rule', () => {
    const model = 'ft:acme-support-7b:v3';
    expect(new PriceTable().find({ model, provider: 'openai', atMillis: DAY })).toBeUndefined();
    expect(table.find({ model: model.toUpperCase(), provider: 'openai', atMillis: DAY })?.rates).toEqual({
      input_mtok: 0.3,
      cache_read_mtok: 0.15,
      output_mtok: 1.2,
    });
  });

  it('keep a price history: a call is priced at the entry in force on its day', () => {
    const at = (day: string) =>
      table.find({ model: 'house-llm', provider: undefined, atMillis: Date.parse(day) });
    expect(at('2026-09-30T23:59:59Z')?.rates).toEqual({ input_mtok: 0, output_mtok: 0 });
    expect(at('2026-10-01T00:00:00Z')).toMatchObject({
      rates: { input_mtok: 0.05, output_mtok: 0.05 },
      since: '2026-10-01',
    });
  });

  it('leave the bundled table in force before a custom price starts', () => {
    expect(table.find({ model: 'gpt-4o', provider: 'openai', atMillis: DAY })?.source).toMatch(/^@pydantic/);
    expect(
      table.find({ model: 'gpt-4o', provider: 'openai', atMillis: Date.parse('2027-01-02') })?.source,
    ).toBe('custom:prices.json');
  });

  it('price a self-hosted model at zero as zero, not as unknown', () => {
    const free = table.find({ model: 'house-llm', provider: 'ollama', atMillis: Date.parse('2026-01-01') });
    expect(free?.rates).toEqual({ input_mtok: 0, output_mtok: 0 });
  });
});

describe('a custom price file that is not valid', () => {
  const problem = (text: string) => {
    try {
      parseCustomPriceFile(text, '/etc/prices.json');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('the file was accepted');
  };

  it('names the line of a syntax error', () => {
    expect(problem('{\n  "models": [\n    { "match": "a", }\n  ]\n}')).toMatch(
      /^LLAMONITOR_PRICES: \/etc\/prices\.json line 3: not valid JSON/,
    );
  });

  it('names the line and the field of a wrong value', () => {
    const text = FILE.replace('"output_mtok": 1.2', '"output_mtok": "1.2"');
    expect(problem(text)).toBe(
      'LLAMONITOR_PRICES: /etc/prices.json line 4, models[1].prices.output_mtok must be a number of US dollars (0 or more) or tiers, not "1.2"',
    );
  });

  it('names an unknown rate with the rates allowed', () => {
    expect(problem('{"models": [\n{"match": "m",\n "prices": {"input_per_token": 1}}]}')).toMatch(
      /line 3, models\[0\]\.prices\.input_per_token is not a known field; allowed: input_mtok, output_mtok, cache_read_mtok, cache_write_mtok, output_reasoning_mtok, requests_kcount$/,
    );
  });

  it.each([
    ['{"models": {}}', 'models must be a list of prices'],
    ['{"models": [{"prices": {"input_mtok": 1}}]}', 'models[0] has no "match"'],
    [
      '{"models": [{"match": {"glob": "x*"}, "prices": {"input_mtok": 1}}]}',
      'models[0].match has an unknown rule "glob"',
    ],
    [
      '{"models": [{"match": {"regex": "("}, "prices": {"input_mtok": 1}}]}',
      'models[0].match.regex is not a regular expression',
    ],
    [
      '{"models": [{"match": "m", "from": "2026-02-30", "prices": {"input_mtok": 1}}]}',
      'models[0].from must be a day as YYYY-MM-DD',
    ],
    [
      '{"models": [{"match": "m", "prices": {"input_mtok": -1}}]}',
      'models[0].prices.input_mtok must be a number',
    ],
    ['{"models": [{"match": "m", "prices": {}}]}', 'models[0].prices sets no rate'],
  ])('%s: %s', (text, expected) => {
    expect(problem(text)).toContain(expected);
  });
});

describe('custom prices in the options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llamonitor-prices-'));

  it('reads LLAMONITOR_PRICES at start-up and prices with it', () => {
    const file = join(dir, 'prices.json');
    writeFileSync(file, FILE);
    const options = resolveOptions({}, { LLAMONITOR_PRICES: file });
    expect(options.prices?.source).toBe(`custom:${file}`);
    expect(
      priceTableOf(options).find({ model: 'house-llm', provider: undefined, atMillis: DAY })?.source,
    ).toBe(`custom:${file}`);
  });

  it('stops start-up on a file that cannot be read, naming the variable and the path', () => {
    const missing = join(dir, 'absent.json');
    expect(() => resolveOptions({}, { LLAMONITOR_PRICES: missing })).toThrow(
      new ConfigError(
        `LLAMONITOR_PRICES=${missing} cannot be read (ENOENT): give the path of a JSON file of custom prices`,
      ),
    );
  });

  it('stops start-up on prices in code that are not valid, naming the field', () => {
    expect(() =>
      resolveOptions({ prices: { models: [{ match: 'm', prices: { input_mtok: Number.NaN } }] } }),
    ).toThrow(/^prices: models\[0\]\.prices\.input_mtok must be a number/);
    expect(() => resolveOptions({ prices: 42 as never })).toThrow(/^prices=42 is not allowed/);
  });

  it('takes prices in code as an object, named custom:code', () => {
    const options = resolveOptions({
      prices: { models: [{ match: 'mine', prices: { input_mtok: 1, output_mtok: 2 } }] },
    });
    expect(options.prices?.entries.map((entry) => entry.rates)).toEqual(
      checkCustomPricesOption({
        models: [{ match: 'mine', prices: { input_mtok: 1, output_mtok: 2 } }],
      }).entries.map((entry) => entry.rates),
    );
    expect(priceTableOf(options).find({ model: 'mine', provider: undefined, atMillis: DAY })?.source).toBe(
      'custom:code',
    );
  });
});
