/**
 * The data-quality keys of a row, in text_custom_metrics: `invalid_values`
 * counts the values that could not be stored as given and were stored as
 * null instead, by the name of their source (a span attribute such as
 * `gen_ai.usage.input_tokens`, or a column such as `image_width`);
 * `partial_metrics` names the metrics measured from a prefix of a value.
 */
import type { JsonObject } from './columns.js';

const INVALID_VALUES_KEY = 'invalid_values';
/**
 * text_custom_metrics key listing the metrics measured from a prefix of a
 * value longer than maxMeasuredBytes: `input_*`, `text_*`, `image_*`.
 */
export const PARTIAL_METRICS_KEY = 'partial_metrics';

/** Counts `count` invalid values of `name` (a column or a whole attribute key, never `__proto__`) in `metrics`. */
export function countInvalidValue(metrics: JsonObject, name: string, count = 1): void {
  const existing = metrics[INVALID_VALUES_KEY];
  const counts: JsonObject =
    typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? existing : {};
  const previous = counts[name];
  counts[name] = (typeof previous === 'number' ? previous : 0) + count;
  metrics[INVALID_VALUES_KEY] = counts;
}
