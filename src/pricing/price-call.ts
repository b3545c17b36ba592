/**
 * A call's cost as a row keeps it: `cost_usd`, and in text_custom_metrics
 * its parts, why there is or is not one (`cost_source`) and which prices made
 * it (`price_source`, `priced_as`). Used by the mapping and by
 * `llamonitor reprice`, so a stored row re-priced is the row the mapping would
 * write with the same prices.
 */
import type { JsonObject } from '../schema/columns.js';
import { callCost, type CallTokens, type CostBreakdown } from './call-cost.js';
import type { ModelPriceOnDay, PriceTable } from './price-table.js';

/**
 * - `reported`: the span carried the provider's own charge (it wins);
 * - `computed`: tokens times a price table's rates;
 * - `estimated`: computed from token counts that were estimated;
 * - `unknown_model`: no price for the model (or the span named none);
 * - `no_usage`: the span reported no input token count;
 * - `invalid_usage`: the counts contradict each other (cache reads above the input count).
 */
export type CostSource =
  'reported' | 'computed' | 'estimated' | 'unknown_model' | 'no_usage' | 'invalid_usage';

export const COST_SOURCES: readonly CostSource[] = [
  'reported',
  'computed',
  'estimated',
  'unknown_model',
  'no_usage',
  'invalid_usage',
];

export interface CallToPrice {
  /** The model the application asked for (the `model` column). */
  readonly requestModel: string | undefined;
  /** The model the response named: priced first when the table knows it (a dated snapshot can be priced more exactly). */
  readonly responseModel: string | undefined;
  readonly provider: string | undefined;
  /** When the call started (ms since the epoch): the price in force then applies. */
  readonly atMillis: number;
  readonly tokens: CallTokens;
  /** The token counts were estimated, not reported. */
  readonly estimated?: boolean;
}

/** A charge the span itself reported, in US dollars, with the parts it gave. */
export interface ReportedCost {
  readonly total: number;
  /** The attribute it came from (`gen_ai.usage.cost`): named in `price_source`. */
  readonly attribute: string;
  readonly input?: number | undefined;
  readonly cacheRead?: number | undefined;
  readonly cacheWrite?: number | undefined;
  readonly output?: number | undefined;
}

/** The parts of a cost; a part left out was not reported or not priced apart. */
export type CostParts = { -readonly [K in Exclude<keyof CostBreakdown, 'total'>]?: number | undefined };

export interface CallCost {
  /** US dollars; null when unknown (never 0 for unknown). */
  readonly usd: number | null;
  readonly source: CostSource;
  readonly parts?: CostParts | undefined;
  readonly price?: ModelPriceOnDay | undefined;
  readonly reported?: ReportedCost | undefined;
}

/** Prices a call from its tokens: on its response model when the table knows it, else on its request model. */
export function priceCall(table: PriceTable, call: CallToPrice): CallCost {
  const { tokens } = call;
  if (tokens.input_tokens === null && tokens.output_tokens === null) return { usd: null, source: 'no_usage' };
  const price = table.findFirst(call.responseModel, call.requestModel, call.provider, call.atMillis);
  if (price === undefined) return { usd: null, source: 'unknown_model' };
  const cost = callCost(price.rates, tokens);
  if (typeof cost === 'string') return { usd: null, source: cost, price };
  const parts: CostParts = {
    input: cost.input,
    // A cache part is named only where the span reported its count: a zero then says something.
    cacheRead: tokens.cache_read_tokens === null ? undefined : cost.cacheRead,
    cacheWrite: tokens.cache_write_tokens === null ? undefined : cost.cacheWrite,
    output: cost.output,
    requests: cost.requests,
  };
  return { usd: cost.total, source: call.estimated === true ? 'estimated' : 'computed', parts, price };
}

/** A reported charge as the row's cost. */
export function reportedCallCost(reported: ReportedCost): CallCost {
  const { input, cacheRead, cacheWrite, output } = reported;
  return {
    usd: reported.total,
    source: 'reported',
    parts: { input, cacheRead, cacheWrite, output },
    reported,
  };
}

/** The keys of text_custom_metrics this file writes: `llamonitor reprice` replaces exactly these. */
export const COST_METRIC_KEYS = [
  'cost_source',
  'price_source',
  'priced_as',
  'cost_input_usd',
  'cost_cache_read_usd',
  'cost_cache_write_usd',
  'cost_output_usd',
  'cost_requests_usd',
  'aggregate_cost_usd',
] as const;

/** Copies the keys of `metrics` other than the cost keys into `into`, in their order. */
export function copyAllButCostMetrics(metrics: JsonObject, into: JsonObject): JsonObject {
  for (const [key, value] of Object.entries(metrics)) {
    if (!(COST_METRIC_KEYS as readonly string[]).includes(key)) into[key] = value;
  }
  return into;
}

/**
 * Adds the cost's keys to text_custom_metrics. For a span whose usage
 * repeats its children's (`aggregate`), the figure is `aggregate_cost_usd`
 * and the row's `cost_usd` stays null, so SUM(cost_usd) counts each model
 * call once; the parts are left out there for the same reason.
 */
export function addCostMetrics(metrics: JsonObject, cost: CallCost, aggregate: boolean): void {
  metrics['cost_source'] = cost.source;
  if (cost.reported !== undefined) metrics['price_source'] = `span:${cost.reported.attribute}`;
  else if (cost.price !== undefined) {
    metrics['price_source'] = cost.price.source;
    metrics['priced_as'] = cost.price.pricedAs;
  }
  if (aggregate) {
    if (cost.usd !== null) metrics['aggregate_cost_usd'] = cost.usd;
    return;
  }
  const parts = cost.parts;
  if (parts === undefined) return;
  setPart(metrics, 'cost_input_usd', parts.input);
  setPart(metrics, 'cost_cache_read_usd', parts.cacheRead);
  setPart(metrics, 'cost_cache_write_usd', parts.cacheWrite);
  setPart(metrics, 'cost_output_usd', parts.output);
  if (parts.requests !== undefined && parts.requests > 0) metrics['cost_requests_usd'] = parts.requests;
}

function setPart(metrics: JsonObject, key: string, value: number | undefined): void {
  if (value !== undefined) metrics[key] = value;
}
