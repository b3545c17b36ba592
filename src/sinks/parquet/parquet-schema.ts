/**
 * The Parquet schema of `metric_events`, derived from the column table: each
 * column's kind becomes a schema element, its nullability the repetition.
 * created_at is a column here too: no database fills it.
 */
import type { SchemaElement } from 'hyparquet-writer';
import { COLUMNS, type ColumnSpec } from '../../schema/columns.js';

export function parquetElement(spec: ColumnSpec): SchemaElement {
  const repetition_type = spec.nullable ? 'OPTIONAL' : 'REQUIRED';
  const name = spec.name;
  switch (spec.kind) {
    case 'uuid':
    case 'string':
    case 'text':
      return {
        name,
        repetition_type,
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
      };
    case 'json':
      return {
        name,
        repetition_type,
        type: 'BYTE_ARRAY',
        converted_type: 'JSON',
        logical_type: { type: 'JSON' },
      };
    case 'timestamp':
      return {
        name,
        repetition_type,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MICROS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
      };
    case 'double':
      return { name, repetition_type, type: 'DOUBLE' };
    case 'int32':
      return { name, repetition_type, type: 'INT32' };
    case 'int64':
      return { name, repetition_type, type: 'INT64' };
  }
}

/** A column's Parquet type as docs name it: STRING, JSON, TIMESTAMP(MICROS, UTC), DOUBLE, INT32, INT64. */
export function parquetTypeName(spec: ColumnSpec): string {
  const element = parquetElement(spec);
  if (element.logical_type?.type === 'TIMESTAMP') return 'TIMESTAMP(MICROS, UTC)';
  return element.logical_type?.type ?? String(element.type);
}

/** A fresh schema (root first) for one file: the writer may annotate its elements. */
export function parquetSchema(): SchemaElement[] {
  return [{ name: 'metric_events', num_children: COLUMNS.length }, ...COLUMNS.map(parquetElement)];
}

/** Random identifiers: min/max over a file's worth of them span nearly everything and prune nothing. */
const RANDOM_IDS = new Set<string>(['event_id', 'trace_id', 'span_id', 'parent_span_id']);

/**
 * Whether a column gets min/max statistics: time, numbers and names do; JSON
 * text and random identifiers do not (they cost time to compute and help no query).
 */
export function keepsStatistics(spec: ColumnSpec): boolean {
  return spec.kind !== 'json' && !RANDOM_IDS.has(spec.name);
}
