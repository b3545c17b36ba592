/**
 * The data-quality key of a row: `invalid_values` in text_custom_metrics
 * counts the values that could not be stored as given and were stored as
 * null instead, by the name of their source (a span attribute such as
 * `gen_ai.usage.input_tokens`, or a column such as `image_width`).
 */
import type { JsonObject } from './columns.js';

export const INVALID_VALUES_KEY = 'invalid_values';

/** Counts one invalid value of `name` (a name the package knows, never a user's key) in `metrics`. */
export function countInvalidValue(metrics: JsonObject, name: string): void {
  const existing = metrics[INVALID_VALUES_KEY];
  const counts: JsonObject =
    typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? existing : {};
  const previous = counts[name];
  counts[name] = typeof previous === 'number' ? previous + 1 : 1;
  metrics[INVALID_VALUES_KEY] = counts;
}
