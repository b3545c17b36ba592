/**
 * The PostgreSQL dialect of the read queries (sinks/call-queries.ts):
 * percentiles by `percentile_cont` (linear interpolation), JSON through jsonb.
 */
import type { SqlDialect } from '../call-queries.js';

export const postgresDialect: SqlDialect = {
  placeholder: (index) => `$${index}`,
  identifier: (name) => `"${name}"`,
  time: (placeholder) => `${placeholder}::timestamptz`,
  timeValue: (isoMicros) => isoMicros,
  epochMicros: `(extract(epoch from "timestamp") * 1000000)::bigint`,
  bucketStart: (seconds) => `(floor(extract(epoch from "timestamp") / ${seconds}) * ${seconds})::bigint`,
  createdAtMicros: `(extract(epoch from "created_at") * 1000000)::bigint`,
  createdAfter: (placeholder) => `to_timestamp(${placeholder}::bigint / 1000000.0)`,
  eventIdText: `"event_id"::text`,
  asText: (column) => `${column}::text`,
  costSource: `"text_custom_metrics"->>'cost_source'`,
  prompt: `"custom_attributes"->>'prompt'`,
  completion: `"custom_attributes"->>'completion'`,
  repeatsUsage: `coalesce("text_custom_metrics", '{}'::jsonb) ?| ARRAY['aggregate', 'aggregate_input_tokens', 'aggregate_output_tokens']`,
  contains: (text, placeholder) => `${text} LIKE ${placeholder} ESCAPE '!'`,
  percentiles: 'aggregate',
  percentile: (column, fraction) => `percentile_cont(${fraction}) WITHIN GROUP (ORDER BY ${column})`,
};
