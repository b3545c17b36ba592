/**
 * Custom prices: a user's own rates for models the bundled table lacks or
 * prices otherwise (fine-tuned and self-hosted models, Azure deployment names,
 * negotiated discounts). They win over the bundled table. Given in code
 * (`prices`) or as a JSON file (`LLAMONITOR_PRICES`), in one shape:
 *
 *   { "models": [
 *       { "match": "ft:gpt-4o-mini-2024-07-18:acme::9xyz",
 *         "provider": "openai",
 *         "from": "2026-01-01",
 *         "prices": { "input_mtok": 0.3, "output_mtok": 1.2 } } ] }
 *
 * `match` is a model name (any case) or a rule as genai-prices writes them
 * (`equals`, `starts_with`, `ends_with`, `contains`, `regex`, `or`, `and`);
 * `provider` (optional) limits the entry to spans of that provider (the
 * `provider` column's value); `from` (optional, a UTC day) is the first day
 * the price is in force, so entries that differ only by `from` are a price
 * history. A file that is not valid stops start-up with its line and field.
 */
import { ConfigError } from '../errors.js';
import { JsonSyntaxError, parseJsonWithLines, type JsonPath } from './json-lines.js';
import type { ModelRates, Rate } from './call-cost.js';

/** A model-name rule: genai-prices' MatchLogic. */
export type MatchRule =
  | { readonly equals: string }
  | { readonly starts_with: string }
  | { readonly ends_with: string }
  | { readonly contains: string }
  | { readonly regex: string }
  | { readonly or: readonly MatchRule[] }
  | { readonly and: readonly MatchRule[] };

/** One custom price, as written in code or in the file. */
export interface CustomPrice {
  /** A model name (compared in any case) or a rule. */
  readonly match: string | MatchRule;
  /** Only for spans whose `provider` column is this. */
  readonly provider?: string;
  /** First UTC day (YYYY-MM-DD) the price is in force; absent: always. */
  readonly from?: string;
  /** US dollars: `input_mtok`, `output_mtok`, `cache_read_mtok`, `cache_write_mtok`, `output_reasoning_mtok` per million tokens; `requests_kcount` per thousand calls. */
  readonly prices: Readonly<Partial<Record<PriceKey, number | TieredPriceInput>>>;
}

export interface TieredPriceInput {
  readonly base: number;
  readonly tiers: readonly { readonly start: number; readonly price: number }[];
}

export interface CustomPrices {
  readonly models: readonly CustomPrice[];
}

/** The rates a custom price may set: those the cost arithmetic reads (call-cost.ts). */
export const PRICE_KEYS = [
  'input_mtok',
  'output_mtok',
  'cache_read_mtok',
  'cache_write_mtok',
  'output_reasoning_mtok',
  'requests_kcount',
] as const;
export type PriceKey = (typeof PRICE_KEYS)[number];

/** A checked custom price, ready to match. */
export interface CustomEntry {
  readonly matches: (model: string) => boolean;
  readonly provider: string | undefined;
  /** Milliseconds since the epoch of `from`'s midnight UTC; -Infinity when always. */
  readonly fromMillis: number;
  readonly from: string | undefined;
  readonly rates: ModelRates;
  /** What `llamonitor price` shows of the rule. */
  readonly rule: string;
}

export interface CheckedCustomPrices {
  /** `custom:<file>` or `custom:code`: the price_source of the rows it prices. */
  readonly source: string;
  readonly entries: readonly CustomEntry[];
}

/** Reads and checks a custom price file; a problem is a ConfigError naming the file, its line and the field. */
export function parseCustomPriceFile(
  text: string,
  file: string,
  variable = 'LLAMONITOR_PRICES',
): CheckedCustomPrices {
  let parsed;
  try {
    parsed = parseJsonWithLines(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new ConfigError(`${variable}: ${file} line ${error.line}: not valid JSON (${error.message})`);
  }
  const where = (path: JsonPath) => `${variable}: ${file} line ${parsed.lineOf(path)}, ${fieldName(path)}`;
  return { source: `custom:${file}`, entries: checkCustomPrices(parsed.value, where) };
}

/** Checks prices given in code (the `prices` option). */
export function checkCustomPricesOption(value: unknown): CheckedCustomPrices {
  const where = (path: JsonPath) => `prices: ${fieldName(path)}`;
  return { source: 'custom:code', entries: checkCustomPrices(value, where) };
}

/** `models[2].prices.input_mtok` */
function fieldName(path: JsonPath): string {
  if (path.length === 0) return 'the document';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

type Where = (path: JsonPath) => string;

function checkCustomPrices(value: unknown, where: Where): CustomEntry[] {
  if (!isObject(value)) fail(where([]), 'must be an object with a "models" list');
  unknownKeys(value, ['models'], [], where);
  const models = value['models'];
  if (!Array.isArray(models)) fail(where(['models']), 'must be a list of prices');
  return models.map((entry, index) => checkEntry(entry, ['models', index], where));
}

function checkEntry(entry: unknown, path: JsonPath, where: Where): CustomEntry {
  if (!isObject(entry)) fail(where(path), 'must be an object with "match" and "prices"');
  unknownKeys(entry, ['match', 'provider', 'from', 'prices'], path, where);
  const match = entry['match'];
  if (match === undefined) fail(where(path), 'has no "match" (a model name or a rule)');
  const matches = checkRule(match, [...path, 'match'], where);
  const provider = entry['provider'];
  if (provider !== undefined && (typeof provider !== 'string' || provider.trim() === '')) {
    fail(where([...path, 'provider']), `must be a provider name such as "openai", not ${show(provider)}`);
  }
  const from = entry['from'];
  let fromMillis = -Infinity;
  if (from !== undefined) {
    fromMillis = typeof from === 'string' ? dayMillis(from) : NaN;
    if (Number.isNaN(fromMillis))
      fail(where([...path, 'from']), `must be a day as YYYY-MM-DD, not ${show(from)}`);
  }
  return {
    matches,
    provider: typeof provider === 'string' ? provider.trim().toLowerCase() : undefined,
    fromMillis,
    from: typeof from === 'string' ? from : undefined,
    rates: checkRates(entry['prices'], [...path, 'prices'], where),
    rule: typeof match === 'string' ? match : JSON.stringify(match),
  };
}

function checkRule(rule: unknown, path: JsonPath, where: Where): (model: string) => boolean {
  if (typeof rule === 'string') {
    if (rule.trim() === '') fail(where(path), 'must not be empty');
    const name = rule.trim().toLowerCase();
    return (model) => model.toLowerCase() === name;
  }
  if (!isObject(rule) || Object.keys(rule).length !== 1) {
    fail(where(path), `must be a model name or one rule of ${RULES.join(', ')}`);
  }
  const [kind, operand] = Object.entries(rule)[0]!;
  const at = [...path, kind];
  if (kind === 'or' || kind === 'and') {
    if (!Array.isArray(operand) || operand.length === 0) fail(where(at), 'must be a non-empty list of rules');
    const parts = operand.map((part, i) => checkRule(part, [...at, i], where));
    return kind === 'or' ? (model) => parts.some((p) => p(model)) : (model) => parts.every((p) => p(model));
  }
  if (!(RULES as readonly string[]).includes(kind)) {
    fail(where(path), `has an unknown rule "${kind}"; the rules are ${RULES.join(', ')}`);
  }
  if (typeof operand !== 'string' || operand === '')
    fail(where(at), `must be a non-empty string, not ${show(operand)}`);
  if (kind === 'regex') {
    let pattern: RegExp;
    try {
      pattern = new RegExp(operand);
    } catch (error) {
      fail(where(at), `is not a regular expression (${(error as Error).message})`);
    }
    return (model) => pattern.test(model);
  }
  const text = operand.toLowerCase();
  if (kind === 'equals') return (model) => model.toLowerCase() === text;
  if (kind === 'starts_with') return (model) => model.toLowerCase().startsWith(text);
  if (kind === 'ends_with') return (model) => model.toLowerCase().endsWith(text);
  return (model) => model.toLowerCase().includes(text);
}

const RULES = ['equals', 'starts_with', 'ends_with', 'contains', 'regex', 'or', 'and'] as const;

function checkRates(prices: unknown, path: JsonPath, where: Where): ModelRates {
  if (!isObject(prices))
    fail(where(path), `must be an object of rates such as {"input_mtok": 0.5, "output_mtok": 1.5}`);
  unknownKeys(prices, PRICE_KEYS, path, where);
  const rates: Record<string, Rate> = {};
  for (const [key, value] of Object.entries(prices)) rates[key] = checkRate(value, [...path, key], where);
  if (
    rates['input_mtok'] === undefined &&
    rates['output_mtok'] === undefined &&
    rates['requests_kcount'] === undefined
  ) {
    fail(where(path), 'sets no rate: give at least input_mtok, output_mtok or requests_kcount');
  }
  return rates;
}

function checkRate(value: unknown, path: JsonPath, where: Where): Rate {
  if (isAmount(value)) return value;
  if (!isObject(value))
    fail(where(path), `must be a number of US dollars (0 or more) or tiers, not ${show(value)}`);
  unknownKeys(value, ['base', 'tiers'], path, where);
  const base = value['base'];
  if (!isAmount(base))
    fail(where([...path, 'base']), `must be a number of US dollars (0 or more), not ${show(base)}`);
  const tiers = value['tiers'];
  if (!Array.isArray(tiers))
    fail(where([...path, 'tiers']), 'must be a list of {"start": tokens, "price": dollars}');
  const checked = tiers.map((tier, i) => {
    const at = [...path, 'tiers', i];
    if (!isObject(tier)) fail(where(at), 'must be {"start": tokens, "price": dollars}');
    unknownKeys(tier, ['start', 'price'], at, where);
    const { start, price } = tier;
    if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) {
      fail(where([...at, 'start']), `must be a whole number of input tokens, not ${show(start)}`);
    }
    if (!isAmount(price))
      fail(where([...at, 'price']), `must be a number of US dollars (0 or more), not ${show(price)}`);
    return { start, price };
  });
  return { base, tiers: checked.sort((a, b) => a.start - b.start) };
}

function unknownKeys(
  object: Record<string, unknown>,
  allowed: readonly string[],
  path: JsonPath,
  where: Where,
): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key))
      fail(where([...path, key]), `is not a known field; allowed: ${allowed.join(', ')}`);
  }
}

/** Midnight UTC of a YYYY-MM-DD day that exists; NaN otherwise. */
export function dayMillis(day: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return NaN;
  const millis = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(millis) || new Date(millis).toISOString().slice(0, 10) !== day ? NaN : millis;
}

function isAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function fail(where: string, problem: string): never {
  throw new ConfigError(`${where} ${problem}`);
}
