/**
 * A stored row's cost worked out again from its stored tokens, with the
 * prices in force on its day: what `llamonitor reprice` writes after a price
 * table update or a new custom price file. The row gets exactly the cost keys
 * the mapping would write with the same prices; a charge the provider
 * reported is left as it is.
 */
import type { JsonObject, StoredCostColumns } from '../schema/columns.js';
import { COST_METRIC_KEYS, addCostMetrics, copyAllButCostMetrics, priceCall } from './price-call.js';
import type { CallTokens } from './call-cost.js';
import type { PriceTable } from './price-table.js';
import { isAggregateMetrics } from '../schema/aggregate-rows.js';

/** The stored columns re-pricing reads (the sinks' StoredCostRow has them all). */
export type CostColumns = StoredCostColumns;

export type Repriced =
  | 'reported'
  | 'unchanged'
  | { readonly cost_usd: number | null; readonly text_custom_metrics: JsonObject | null };

export function repriceRow(table: PriceTable, row: CostColumns): Repriced {
  const metrics = row.text_custom_metrics ?? {};
  if (metrics['cost_source'] === 'reported') return 'reported';
  const aggregate = isAggregateMetrics(metrics);
  const tokens = aggregate ? aggregateTokens(metrics) : columnTokens(row);
  const attributes = row.custom_attributes ?? {};
  const responseModel = stringOf(attributes['response_model']);
  const requestModel = row.model ?? stringOf(attributes['request_model']);
  // No model and no usage: no model call, and no cost keys (as the mapping leaves it).
  if (requestModel === undefined && responseModel === undefined && tokens.input_tokens === null)
    return 'unchanged';
  const atMillis = Date.parse(row.timestamp);
  if (Number.isNaN(atMillis)) return 'unchanged';
  const cost = priceCall(table, {
    requestModel,
    responseModel,
    provider: row.provider ?? undefined,
    atMillis,
    tokens,
    // Tokens the exporter estimated stay estimated: the cost is as good as they are.
    estimated: metrics['tokens_estimated'] === true,
  });
  const next = copyAllButCostMetrics(metrics, {});
  addCostMetrics(next, cost, aggregate);
  const costUsd = aggregate ? null : cost.usd;
  if (costUsd === row.cost_usd && sameCostKeys(metrics, next)) return 'unchanged';
  return { cost_usd: costUsd, text_custom_metrics: Object.keys(next).length === 0 ? null : next };
}

function columnTokens(row: CostColumns): CallTokens {
  return {
    input_tokens: row.input_tokens,
    output_tokens: row.output_tokens,
    cache_read_tokens: row.cache_read_tokens,
    cache_write_tokens: row.cache_write_tokens,
    reasoning_tokens: row.reasoning_tokens,
  };
}

/** A wrapper's usage, as the mapping kept it (`aggregate_*`, the instrumentation's own counts). */
function aggregateTokens(metrics: JsonObject): CallTokens {
  const count = (key: string) => tokenCount(metrics[key]) ?? null;
  return {
    input_tokens: count('aggregate_input_tokens'),
    output_tokens: count('aggregate_output_tokens'),
    cache_read_tokens: count('aggregate_cache_read_tokens'),
    cache_write_tokens: count('aggregate_cache_creation_tokens'),
    reasoning_tokens: count('aggregate_reasoning_tokens'),
  };
}

/** A stored count: a non-negative safe integer (JSON keeps them as numbers). */
function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function sameCostKeys(before: JsonObject, after: JsonObject): boolean {
  return COST_METRIC_KEYS.every((key) => before[key] === after[key]);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
