/**
 * The Parquet schema of `metric_events`, derived from the column table: each
 * column's `parquetType` becomes a schema element, its nullability the
 * repetition. created_at is a column here too: no database fills it.
 */
import type { SchemaElement } from 'hyparquet-writer';
import { COLUMNS, type ColumnSpec } from '../../schema/columns.js';

export function parquetElement(spec: ColumnSpec): SchemaElement {
  const repetition_type = spec.nullable ? 'OPTIONAL' : 'REQUIRED';
  const name = spec.name;
  switch (spec.parquetType) {
    case 'STRING':
      return {
        name,
        repetition_type,
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
      };
    case 'JSON':
      return {
        name,
        repetition_type,
        type: 'BYTE_ARRAY',
        converted_type: 'JSON',
        logical_type: { type: 'JSON' },
      };
    case 'TIMESTAMP_MICROS':
      return {
        name,
        repetition_type,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MICROS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
      };
    case 'INT32':
    case 'INT64':
    case 'DOUBLE':
      return { name, repetition_type, type: spec.parquetType };
  }
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
