export {
  COLUMNS,
  SCHEMA_VERSION,
  type ColumnSpec,
  type MetricEvent,
  type JsonObject,
  type JsonValue,
} from './schema/columns.js';
export type { SpanLike, MappingOptions, SpanFilter } from './mapping/span-like.js';
export { toMetricEvent } from './mapping/to-metric-event.js';
export { sessionIdFromAttributes } from './mapping/session-id.js';
export {
  operationTypeOf,
  isModelCall,
  isWrapperSpan,
  OPERATION_TYPES,
  type OperationType,
} from './mapping/operation-type.js';
