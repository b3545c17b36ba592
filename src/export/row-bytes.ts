/**
 * An estimate of the memory a row holds, cheap enough for every row: the byte
 * cap on writes in flight needs a number, not an exact one.
 */
import type { MetricEvent } from '../schema/columns.js';

/**
 * Fixed cost of a row object, its ids, names and timestamp. Calibrated against
 * the heap: rows mapped from the captured fixtures take about 2 KB each.
 */
const ROW_OVERHEAD = 1_000;
/** A JSON object or array, and a number or boolean in one: V8 keeps each in a slot with a header. */
const OBJECT_BYTES = 48;
const VALUE_BYTES = 16;
const JSON_WALK_LIMIT = 2_000;

function jsonBytes(value: unknown, budget: { left: number }): number {
  if (budget.left-- <= 0) return 0;
  if (typeof value === 'string') return VALUE_BYTES + 2 * value.length;
  if (value === null || typeof value !== 'object') return VALUE_BYTES;
  let total = OBJECT_BYTES;
  if (Array.isArray(value)) {
    for (const item of value) total += jsonBytes(item, budget);
  } else {
    for (const key in value) {
      total += 2 * key.length + jsonBytes((value as Record<string, unknown>)[key], budget);
    }
  }
  return total;
}

export function estimateRowBytes(row: MetricEvent): number {
  const budget = { left: JSON_WALK_LIMIT };
  return (
    ROW_OVERHEAD +
    2 * (row.session_id.length + row.operation_name.length + (row.error?.length ?? 0)) +
    jsonBytes(row.text_custom_metrics, budget) +
    jsonBytes(row.image_custom_metrics, budget) +
    jsonBytes(row.custom_attributes, budget)
  );
}
