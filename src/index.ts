export {
  COLUMNS,
  SCHEMA_VERSION,
  type ColumnSpec,
  type MetricEvent,
  type JsonObject,
  type JsonValue,
} from './schema/columns.js';
export type { SpanLike, MappingOptions, SpanFilter } from './mapping/span-like.js';
