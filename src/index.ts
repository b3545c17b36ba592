/**
 * llamonitor-otel: every LLM span your application makes, kept as one row of
 * `metric_events` in PostgreSQL, MySQL/MariaDB or Parquet files.
 */
export { MetricEventsSpanExporter } from './export/exporter.js';
export { MetricEventsSpanProcessor, type MetricEventsSpanProcessorOptions } from './export/processor.js';
export { shutdownOnExit, type ShutsDown } from './export/shutdown-on-exit.js';
export { type MetricEventsExporterOptions, type EnrichHook, type MetricsMode } from './config/options.js';
export { LlamonitorError, ConfigError, ConnectionError, RefusedDataError, type ErrorKind } from './errors.js';
export { toMetricEvent } from './mapping/to-metric-event.js';
export { OPERATION_TYPES, type OperationType } from './mapping/operation-type.js';
export type { SpanLike, MappingOptions, SpanFilter } from './mapping/span-like.js';
export {
  COLUMNS,
  SCHEMA_VERSION,
  type ColumnSpec,
  type MetricEvent,
  type JsonObject,
  type JsonValue,
} from './schema/columns.js';
