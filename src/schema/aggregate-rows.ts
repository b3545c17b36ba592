/**
 * How a stored row says that its span repeats another's model call: a wrapper
 * (the AI SDK's `ai.generateText`, an agent) whose usage, if any, is kept under
 * `aggregate_*` keys, or a model call under a model call. Such a row is not a
 * call of its own: `llamonitor stats`, re-pricing and the metrics leave it out.
 */
import type { JsonObject } from './columns.js';

/**
 * The text_custom_metrics key (`true`) of such a row. Set whether or not the span carries usage: a
 * failed wrapper has none, and is still not a call of its own.
 */
export const AGGREGATE_KEY = 'aggregate';

/** The usage keys of a wrapper's row, which rows written before AGGREGATE_KEY are known by. */
const AGGREGATE_USAGE_KEYS = ['aggregate_input_tokens', 'aggregate_output_tokens'] as const;

/** True for the text_custom_metrics of a row that repeats another's call. */
export function isAggregateMetrics(metrics: JsonObject | null): boolean {
  return (
    metrics !== null &&
    (metrics[AGGREGATE_KEY] === true || AGGREGATE_USAGE_KEYS.some((key) => key in metrics))
  );
}
