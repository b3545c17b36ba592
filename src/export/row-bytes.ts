/**
 * An estimate of the memory a row holds, cheap enough for every row: the byte
 * cap on writes in flight needs a number, not an exact one.
 */
import type { MetricEvent } from '../schema/columns.js';

/** Fixed cost of a row object and its short fields. */
const ROW_OVERHEAD = 400;
const JSON_WALK_LIMIT = 2_000;

function jsonBytes(value: unknown, budget: { left: number }): number {
  if (budget.left-- <= 0) return 0;
  if (typeof value === 'string') return 2 * value.length;
  if (value === null || typeof value !== 'object') return 8;
  let total = 16;
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
