import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  COLUMNS,
  INSERT_COLUMNS,
  INDEXES,
  OPERATION_TYPES,
  type MetricEvent,
  type OperationType,
} from '../../src/schema/columns.js';

// The Python llamonitor-async table, column for column (seed/000_*.txt).
const SEED_COLUMNS = [
  'event_id', 'schema_version', 'session_id', 'trace_id', 'span_id', 'parent_span_id', 'operation_name',
  'operation_type', 'timestamp', 'duration_ms', 'text_char_count', 'text_word_count', 'text_byte_size',
  'text_line_count', 'text_custom_metrics', 'image_count', 'image_total_pixels', 'image_file_size_bytes',
  'image_width', 'image_height', 'image_format', 'image_custom_metrics', 'error', 'error_type',
  'custom_attributes', 'created_at',
]; // prettier-ignore

describe('the column table', () => {
  it('declares the 25 seed columns plus created_at, in the seed order', () => {
    expect(COLUMNS.map((c) => c.name)).toEqual(SEED_COLUMNS);
  });

  it('leaves created_at to the database and every other column to the writer', () => {
    expect(INSERT_COLUMNS.map((c) => c.name)).toEqual(SEED_COLUMNS.filter((n) => n !== 'created_at'));
  });

  it('marks the seed NOT NULL columns as not nullable', () => {
    const notNull = COLUMNS.filter((c) => !c.nullable).map((c) => c.name);
    expect(notNull).toEqual([
      'event_id', 'schema_version', 'session_id', 'trace_id', 'span_id', 'operation_name', 'operation_type', 'timestamp',
    ]); // prettier-ignore
  });

  it('gives every index only columns of the table', () => {
    const names = new Set(COLUMNS.map((c) => c.name as string));
    expect(INDEXES).toHaveLength(6);
    for (const index of INDEXES) for (const column of index.columns) expect(names.has(column)).toBe(true);
  });

  it('types operation_type as its vocabulary, declared once in the column table', () => {
    // Checked by `tsc` (npm run typecheck): a plain string here fails the build of the tests.
    expectTypeOf<MetricEvent['operation_type']>().toEqualTypeOf<OperationType>();
    expectTypeOf<MetricEvent['operation_type']>().not.toEqualTypeOf<string>();
    const spec = COLUMNS.find((c) => c.name === 'operation_type');
    expect(spec && 'values' in spec ? spec.values : undefined).toEqual(OPERATION_TYPES);
  });
});
