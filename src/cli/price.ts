/**
 * `llamonitor price <model>`: what a model name resolves to in the price
 * tables the exporter would use (the custom prices of LLAMONITOR_PRICES, then
 * the bundled table), at a day: its rates and where they came from. So a user
 * can check a model name before a month of rows is priced with it.
 */
import { priceTableOf } from '../config/prices.js';
import type { Rate } from '../pricing/call-cost.js';
import { PRICE_KEYS } from '../pricing/custom-prices.js';
import { EXIT_USAGE, loadOptions, type Env, type Out } from './commands.js';

/** What each rate is per, by its key's suffix (genai-prices' units). */
const UNITS: readonly (readonly [suffix: string, unit: string])[] = [
  ['_mtok', 'per million tokens'],
  ['_kcount', 'per thousand'],
  ['_mchars', 'per million characters'],
  ['_hours', 'per hour'],
  ['_gpixels', 'per billion pixels'],
  ['_kpages', 'per thousand pages'],
];

export async function price(
  env: Env,
  out: Out,
  model: string,
  provider: string | undefined,
  date: string | undefined,
): Promise<number> {
  const atMillis =
    date === undefined ? Date.now() : Date.parse(date.length === 10 ? `${date}T00:00:00Z` : date);
  if (Number.isNaN(atMillis)) {
    out(`llamonitor price: --date ${date} is not a day (YYYY-MM-DD) or an ISO 8601 time`);
    return EXIT_USAGE;
  }
  const options = loadOptions(env, out);
  if (!options) return 1;
  const table = priceTableOf(options);
  const providerName = provider?.trim().toLowerCase() || undefined;
  const found = table.find({ model, provider: providerName, atMillis });
  const asked = `${model}${providerName === undefined ? '' : ` (provider ${providerName})`}`;
  const day = new Date(atMillis).toISOString().slice(0, 10);
  if (found === undefined) {
    out(
      `[fail] no price for ${asked} on ${day}: rows of its calls get cost_usd NULL (cost_source unknown_model)`,
    );
    out(
      `       add it to a custom price file (LLAMONITOR_PRICES); the README's "Cost" section shows the shape`,
    );
    return 1;
  }
  out(`model      ${asked}`);
  out(`priced as  ${found.pricedAs}`);
  out(`source     ${found.source}`);
  out(`in force   on ${day}${found.since === undefined ? '' : `, since ${found.since}`}`);
  const keys = Object.keys(found.rates).sort(byKnownOrder);
  const width = Math.max(...keys.map((key) => key.length));
  keys.forEach((key, i) => {
    const rate = found.rates[key];
    if (rate === undefined) return;
    const unused = PRICED_KEYS.has(key) ? '' : ' (not used: no span reports this usage)';
    out(
      `${i === 0 ? 'rates' : ''.padEnd(5)}      ${key.padEnd(width)}  ${describeRate(rate)} ${unitOf(key)}${unused}`,
    );
  });
  return 0;
}

/** The rates a row's cost is computed from. */
const PRICED_KEYS: ReadonlySet<string> = new Set(PRICE_KEYS);

const KNOWN_ORDER = [
  'input_mtok',
  'cache_read_mtok',
  'cache_write_mtok',
  'output_mtok',
  'output_reasoning_mtok',
];

function byKnownOrder(a: string, b: string): number {
  const rank = (key: string) => (KNOWN_ORDER.includes(key) ? KNOWN_ORDER.indexOf(key) : KNOWN_ORDER.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function describeRate(rate: Rate): string {
  if (typeof rate === 'number') return `$${rate}`;
  return [
    `$${rate.base}`,
    ...rate.tiers.map((tier) => `$${tier.price} above ${tier.start} input tokens`),
  ].join(', ');
}

function unitOf(key: string): string {
  return UNITS.find(([suffix]) => key.endsWith(suffix))?.[1] ?? '';
}
