import { describe, expect, expectTypeOf, it } from 'vitest';
import { columnTypes } from '../../src/sinks/registry.js';
import {
  ADDED_COLUMNS,
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

// Schema 1.1's columns, appended after created_at; their names are part of the contract.
const COLUMNS_1_1 = [
  'model', 'provider', 'input_tokens', 'output_tokens', 'total_tokens', 'cache_read_tokens',
  'cache_write_tokens', 'reasoning_tokens', 'cost_usd', 'time_to_first_token_ms', 'finish_reason',
  'user_id', 'service_name',
]; // prettier-ignore

describe('the column table', () => {
  it('declares the 25 seed columns plus created_at, in the seed order, then the 1.1 columns', () => {
    expect(COLUMNS.map((c) => c.name)).toEqual([...SEED_COLUMNS, ...COLUMNS_1_1]);
    expect(COLUMNS.filter((c) => c.since === '1.0.0').map((c) => c.name)).toEqual(SEED_COLUMNS);
    expect(ADDED_COLUMNS.map((c) => c.name)).toEqual(COLUMNS_1_1);
  });

  it('leaves created_at to the database and every other column to the writer', () => {
    expect(INSERT_COLUMNS.map((c) => c.name)).toEqual(
      [...SEED_COLUMNS, ...COLUMNS_1_1].filter((n) => n !== 'created_at'),
    );
  });

  it('makes every 1.1 column nullable, so that a table without them takes rows and one with them grows safely', () => {
    for (const column of ADDED_COLUMNS) expect(column.nullable, column.name).toBe(true);
  });

  it('gives the 1.1 columns the types of the contract in every store', () => {
    const expected: Record<string, [string, string, string]> = {
      model: ['VARCHAR(255)', 'VARCHAR(255)', 'STRING'],
      provider: ['VARCHAR(100)', 'VARCHAR(100)', 'STRING'],
      input_tokens: ['BIGINT', 'BIGINT', 'INT64'],
      cache_write_tokens: ['BIGINT', 'BIGINT', 'INT64'],
      cost_usd: ['DOUBLE PRECISION', 'DOUBLE', 'DOUBLE'],
      time_to_first_token_ms: ['DOUBLE PRECISION', 'DOUBLE', 'DOUBLE'],
      finish_reason: ['VARCHAR(50)', 'VARCHAR(50)', 'STRING'],
      user_id: ['VARCHAR(255)', 'VARCHAR(255)', 'STRING'],
      service_name: ['VARCHAR(255)', 'VARCHAR(255)', 'STRING'],
    };
    for (const [name, types] of Object.entries(expected)) {
      const column = COLUMNS.find((c) => c.name === name)!;
      expect([...columnTypes(column).values()], name).toEqual(types);
    }
  });

  it("derives each store's type from the column's kind: the seed's types for the seed columns", () => {
    const types = (name: string) => [...columnTypes(COLUMNS.find((c) => c.name === name)!).values()];
    expect(types('event_id')).toEqual(['UUID', 'CHAR(36)', 'STRING']);
    expect(types('timestamp')).toEqual(['TIMESTAMPTZ', 'DATETIME(6)', 'TIMESTAMP(MICROS, UTC)']);
    expect(types('created_at')).toEqual(['TIMESTAMPTZ', 'TIMESTAMP', 'TIMESTAMP(MICROS, UTC)']);
    expect(types('error')).toEqual(['TEXT', 'TEXT', 'STRING']);
    expect(types('text_custom_metrics')).toEqual(['JSONB', 'JSON', 'JSON']);
    expect(types('text_char_count')).toEqual(['INTEGER', 'INT', 'INT32']);
  });

  it('marks the seed NOT NULL columns as not nullable', () => {
    const notNull = COLUMNS.filter((c) => !c.nullable).map((c) => c.name);
    expect(notNull).toEqual([
      'event_id', 'schema_version', 'session_id', 'trace_id', 'span_id', 'operation_name', 'operation_type', 'timestamp',
    ]); // prettier-ignore
  });

  it('gives every index only columns of the table', () => {
    const names = new Set(COLUMNS.map((c) => c.name as string));
    expect(INDEXES.map((index) => index.suffix)).toEqual([
      'session', 'trace', 'span', 'parent_span', 'timestamp', 'operation', 'model',
    ]); // prettier-ignore
    expect(INDEXES.find((index) => index.suffix === 'model')).toMatchObject({
      columns: ['model', 'timestamp'],
      since: '1.1.0',
    });
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
