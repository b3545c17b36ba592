/**
 * The arithmetic of a call's price: a model's rates (one price of a price
 * table, in force on the call's day) times the call's token counts. Pure and
 * synchronous; the price table (price-table.ts) finds the rates.
 *
 * The rates are @pydantic/genai-prices' price keys, in US dollars: `*_mtok`
 * per million tokens, `requests_kcount` per thousand requests; a value is a
 * number or tiered prices (a base, and a price from each tier's start on,
 * chosen by the call's whole input count). The counts are parts, as
 * genai-prices reads them (its README, "Cached input tokens"): `input_tokens`
 * counts every input token, cache reads and writes included; `output_tokens`
 * every output token, reasoning included. Each token is priced once, at the
 * most specific rate the price has: a cache read at `cache_read_mtok` when the
 * price has one, else at `input_mtok`; a reasoning token at
 * `output_reasoning_mtok`, else at `output_mtok`. That is genai-prices'
 * `calcPrice` for these keys (test/pricing/call-cost.test.ts compares both
 * over every model of the bundled table); the other keys price usage a span
 * never reports (audio, images, web searches), whose count is then zero.
 */

/** A rate: US dollars per unit of its key, flat or tiered by the call's input tokens. */
export type Rate = number | TieredRate;

export interface TieredRate {
  readonly base: number;
  /** Sorted by start: the price of the last tier whose start the input count passes. */
  readonly tiers: readonly { readonly start: number; readonly price: number }[];
}

/** The rates of one model on one day, as genai-prices keys them; keys this file does not read are kept for `llamonitor price`. */
export type ModelRates = Readonly<Record<string, Rate | undefined>>;

/** The token counts a call is priced from (the row's token columns). */
export interface CallTokens {
  readonly input_tokens: number | null;
  readonly output_tokens: number | null;
  readonly cache_read_tokens: number | null;
  readonly cache_write_tokens: number | null;
  readonly reasoning_tokens: number | null;
}

/** A call's price in US dollars, and its parts (each part's tokens at their own rate). */
export interface CostBreakdown {
  readonly total: number;
  /** Uncached input tokens. */
  readonly input: number;
  readonly cacheRead: number;
  readonly cacheWrite: number;
  /** Output tokens, reasoning included. */
  readonly output: number;
  /** A price per request (`requests_kcount`), when the model has one. */
  readonly requests: number;
}

/** Why a call's tokens could not be priced although its model has rates. */
export type UnpricedUsage = 'no_usage' | 'invalid_usage';

const PER_MILLION = 1e6;
const PER_THOUSAND = 1e3;

/**
 * The price of a call, or why there is none: `no_usage` when the span gave no
 * input count, `invalid_usage` when its parts exceed their whole (cache reads
 * and writes above the input count, reasoning above the output count).
 */
export function callCost(rates: ModelRates, tokens: CallTokens): CostBreakdown | UnpricedUsage {
  const inputTokens = tokens.input_tokens;
  if (inputTokens === null) return 'no_usage';
  const outputTokens = tokens.output_tokens ?? 0;
  const cacheRead = tokens.cache_read_tokens ?? 0;
  const cacheWrite = tokens.cache_write_tokens ?? 0;
  const reasoning = tokens.reasoning_tokens ?? 0;
  const readRate = rates['cache_read_mtok'];
  const writeRate = rates['cache_write_mtok'];
  const reasoningRate = rates['output_reasoning_mtok'];
  // A part without its own rate stays in its whole and is priced at the whole's rate.
  const readApart = readRate === undefined ? 0 : cacheRead;
  const writeApart = writeRate === undefined ? 0 : cacheWrite;
  const reasoningApart = reasoningRate === undefined ? 0 : reasoning;
  const uncached = inputTokens - readApart - writeApart;
  const plainOutput = outputTokens - reasoningApart;
  if (uncached < 0 || plainOutput < 0) return 'invalid_usage';

  const input = priced(rates['input_mtok'], uncached, inputTokens, PER_MILLION);
  const read = priced(readRate, readApart, inputTokens, PER_MILLION);
  const write = priced(writeRate, writeApart, inputTokens, PER_MILLION);
  const output =
    priced(rates['output_mtok'], plainOutput, inputTokens, PER_MILLION) +
    priced(reasoningRate, reasoningApart, inputTokens, PER_MILLION);
  const requests = priced(rates['requests_kcount'], 1, inputTokens, PER_THOUSAND);
  return {
    total: dollars(input + read + write + output + requests),
    input: dollars(input),
    cacheRead: dollars(read),
    cacheWrite: dollars(write),
    output: dollars(output),
    requests: dollars(requests),
  };
}

/**
 * Dollars to the picodollar: 14 tokens at $0.15 per million are 0.0000021,
 * not 0.0000021000000000000002 (a whole number of picodollars divided by
 * 10^12 is the double nearest that decimal). Less than a picodollar is below
 * anything a price or a sum can mean; one token at the cheapest rates still
 * keeps three or more digits.
 */
function dollars(amount: number): number {
  return Math.round(amount * PICO) / PICO;
}

const PICO = 1e12;

/** `count` units at `rate` per `per` units; a tiered rate takes its tier from the call's input count. */
function priced(rate: Rate | undefined, count: number, inputTokens: number, per: number): number {
  if (rate === undefined || count <= 0) return 0;
  return (rateFor(rate, inputTokens) * count) / per;
}

/** The price of a tiered rate for a call of `inputTokens` input tokens (genai-prices: a tier applies above its start). */
export function rateFor(rate: Rate, inputTokens: number): number {
  if (typeof rate === 'number') return rate;
  let price = rate.base;
  for (const tier of rate.tiers) if (inputTokens > tier.start) price = tier.price;
  return price;
}
