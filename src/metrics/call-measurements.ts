/**
 * What one stored row contributes to the GenAI metrics, read from the row
 * alone, so that the series agree with the table: a model call is a row that
 * names a model and does not repeat another's call (a wrapper span's row
 * has NULL tokens and cost and the `aggregate` key), the same rows
 * `llamonitor stats` counts. Pure: no instruments, no state but the caps.
 */
import type { Attributes } from '@opentelemetry/api';
import type { JsonObject, MetricEvent, OperationType } from '../schema/columns.js';
import { isAggregateMetrics } from '../schema/aggregate-rows.js';
import { OVERFLOW_VALUE, type BoundedValues } from './bounded-values.js';

/** The attribute names of the GenAI conventions (semantic-conventions v1.41.0, docs/gen-ai/gen-ai-metrics.md). */
export const ATTR_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_RESPONSE_MODEL = 'gen_ai.response.model';
export const ATTR_TOKEN_TYPE = 'gen_ai.token.type';
export const ATTR_ERROR_TYPE = 'error.type';
/** This package's: which part of the input or output a count of `llamonitor.client.token.detail` is. */
export const ATTR_TOKEN_DETAIL = 'llamonitor.token.detail';

/**
 * `gen_ai.operation.name` for a row's operation_type: the conventions' word
 * where one fits (`chat` stands for every text generation, completions
 * included, since the row keeps no finer kind), else the type itself.
 */
const OPERATION_NAMES: Readonly<Record<OperationType, string>> = {
  llm_call: 'chat',
  embedding: 'embeddings',
  image_generation: 'generate_content',
  tool_call: 'execute_tool',
  agent: 'invoke_agent',
  workflow: 'invoke_workflow',
  retrieval: 'retrieval',
  rerank: 'rerank',
  guardrail: 'guardrail',
  evaluation: 'evaluation',
  other: 'other',
};

export interface CallMeasurements {
  /** Operation, provider and models, on every data point of the call. */
  readonly attributes: Attributes;
  /** Set when the call failed: `error.type`, only on the duration. */
  readonly errorType: string | undefined;
  readonly durationSeconds: number | undefined;
  readonly timeToFirstChunkSeconds: number | undefined;
  readonly inputTokens: number | undefined;
  readonly outputTokens: number | undefined;
  /** Parts of the input (cache) and of the output (reasoning), by `llamonitor.token.detail`. */
  readonly tokenDetails: readonly (readonly ['cache_read' | 'cache_write' | 'reasoning', number])[];
  readonly costUsd: number | undefined;
}

/** The caps on the attribute values taken from spans. */
export interface ValueCaps {
  /** Request and response model names together. */
  readonly models: BoundedValues;
  readonly providers: BoundedValues;
  readonly errorTypes: BoundedValues;
}

/** True for the row of a model call, counted once: it names a model and repeats no child's usage. */
export function isModelCallRow(row: MetricEvent): boolean {
  return row.model !== null && !isAggregateMetrics(row.text_custom_metrics);
}

/** What the row of a model call records; undefined for every other row. */
export function callMeasurements(row: MetricEvent, caps: ValueCaps): CallMeasurements | undefined {
  if (!isModelCallRow(row)) return undefined;
  const attributes: Attributes = { [ATTR_OPERATION_NAME]: OPERATION_NAMES[row.operation_type] ?? 'other' };
  if (row.provider !== null) attributes[ATTR_PROVIDER_NAME] = caps.providers.of(row.provider);
  const custom = row.custom_attributes;
  // The model column's value when the span named no request model, so that series group as the table does.
  const requestModel = stringIn(custom, 'request_model') ?? row.model;
  if (requestModel !== null) attributes[ATTR_REQUEST_MODEL] = caps.models.of(requestModel);
  const responseModel = stringIn(custom, 'response_model');
  if (responseModel !== undefined) attributes[ATTR_RESPONSE_MODEL] = caps.models.of(responseModel);

  const tokenDetails: ['cache_read' | 'cache_write' | 'reasoning', number][] = [];
  const cacheRead = amount(row.cache_read_tokens);
  const cacheWrite = amount(row.cache_write_tokens);
  const reasoning = amount(row.reasoning_tokens);
  if (cacheRead !== undefined) tokenDetails.push(['cache_read', cacheRead]);
  if (cacheWrite !== undefined) tokenDetails.push(['cache_write', cacheWrite]);
  if (reasoning !== undefined) tokenDetails.push(['reasoning', reasoning]);
  const durationMs = amount(row.duration_ms);
  const firstChunkMs = amount(row.time_to_first_token_ms);
  return {
    attributes,
    errorType: errorTypeOf(row, caps.errorTypes),
    durationSeconds: durationMs === undefined ? undefined : durationMs / 1000,
    timeToFirstChunkSeconds: firstChunkMs === undefined ? undefined : firstChunkMs / 1000,
    inputTokens: amount(row.input_tokens),
    outputTokens: amount(row.output_tokens),
    tokenDetails,
    costUsd: amount(row.cost_usd),
  };
}

/** The row's error_type for a failed call; `_OTHER` when it failed without one (the conventions' fallback). */
function errorTypeOf(row: MetricEvent, errorTypes: BoundedValues): string | undefined {
  if (row.error_type !== null) return errorTypes.of(row.error_type);
  return row.error !== null ? OVERFLOW_VALUE : undefined;
}

function stringIn(object: JsonObject | null, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** A count or an amount a counter or a histogram takes: finite and not negative; else undefined. */
function amount(value: number | bigint | null): number | undefined {
  const number = typeof value === 'bigint' ? Number(value) : value;
  return number !== null && Number.isFinite(number) && number >= 0 ? number : undefined;
}
