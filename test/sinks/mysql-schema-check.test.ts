/**
 * The start-up schema check on table descriptions as information_schema gives
 * them: MySQL 8's (which cannot run here) as well as MariaDB's.
 */
import { describe, expect, it } from 'vitest';
import { checkTableSchema, type FoundColumn, type FoundTable } from '../../src/sinks/mysql/table-schema.js';

type Shape = [name: string, dataType: string, columnType: string, nullable?: boolean];

function column([name, dataType, columnType, nullable = true]: Shape): FoundColumn {
  const length = /\((\d+)\)/.exec(columnType);
  const text = ['char', 'varchar', 'text', 'longtext'].includes(dataType);
  const blobBytes: Record<string, number> = { text: 65_535, longtext: 4_294_967_295 };
  const chars = blobBytes[dataType] ?? (length && text ? Number(length[1]) : null);
  return {
    name,
    dataType,
    columnType,
    charLength: text ? chars : null,
    octetLength: text ? (blobBytes[dataType] ?? (chars ?? 0) * 4) : null,
    datetimePrecision:
      dataType === 'datetime' ? Number(length?.[1] ?? 0) : dataType === 'timestamp' ? 0 : null,
    charset: text ? 'utf8mb4' : null,
    nullable,
    optional: nullable,
  };
}

/** The Python DDL as MySQL 8.0.19+ describes it: JSON is its own type, INT has no display width. */
const MYSQL8_PYTHON_TABLE: Shape[] = [
  ['event_id', 'char', 'char(36)', false],
  ['schema_version', 'varchar', 'varchar(20)', false],
  ['session_id', 'varchar', 'varchar(255)', false],
  ['trace_id', 'varchar', 'varchar(255)', false],
  ['span_id', 'varchar', 'varchar(255)', false],
  ['parent_span_id', 'varchar', 'varchar(255)'],
  ['operation_name', 'varchar', 'varchar(255)', false],
  ['operation_type', 'varchar', 'varchar(50)', false],
  ['timestamp', 'datetime', 'datetime(6)', false],
  ['duration_ms', 'double', 'double'],
  ['text_char_count', 'int', 'int'],
  ['text_word_count', 'int', 'int'],
  ['text_byte_size', 'int', 'int'],
  ['text_line_count', 'int', 'int'],
  ['text_custom_metrics', 'json', 'json'],
  ['image_count', 'int', 'int'],
  ['image_total_pixels', 'bigint', 'bigint'],
  ['image_file_size_bytes', 'bigint', 'bigint'],
  ['image_width', 'int', 'int'],
  ['image_height', 'int', 'int'],
  ['image_format', 'varchar', 'varchar(20)'],
  ['image_custom_metrics', 'json', 'json'],
  ['error', 'text', 'text'],
  ['error_type', 'varchar', 'varchar(255)'],
  ['custom_attributes', 'json', 'json'],
  ['created_at', 'timestamp', 'timestamp'],
];

const INDEXES: FoundTable['indexes'] = [
  { name: 'PRIMARY', unique: true, columns: ['event_id'] },
  { name: 'idx_session', unique: false, columns: ['session_id', 'timestamp'] },
  { name: 'idx_trace', unique: false, columns: ['trace_id', 'timestamp'] },
  { name: 'idx_span', unique: false, columns: ['span_id'] },
  { name: 'idx_parent_span', unique: false, columns: ['parent_span_id'] },
  { name: 'idx_timestamp', unique: false, columns: ['timestamp'] },
  { name: 'idx_operation', unique: false, columns: ['operation_name', 'timestamp'] },
];

function table(shapes: Shape[], indexes = INDEXES): FoundTable {
  return { engine: 'InnoDB', columns: shapes.map(column), indexes };
}

function replaced(name: string, shape: Shape): Shape[] {
  return MYSQL8_PYTHON_TABLE.map((s) => (s[0] === name ? shape : s));
}

describe('checkTableSchema', () => {
  it('accepts the Python table as MySQL 8 describes it', () => {
    expect(checkTableSchema(table(MYSQL8_PYTHON_TABLE), 't')).toEqual({ problems: [], notes: [] });
  });

  it("accepts MariaDB's JSON, a LONGTEXT, and wider types than needed", () => {
    const shapes = MYSQL8_PYTHON_TABLE.map((s): Shape =>
      s[1] === 'json'
        ? [s[0], 'longtext', 'longtext']
        : s[0] === 'text_char_count'
          ? [s[0], 'bigint', 'bigint(20)']
          : s,
    );
    expect(
      checkTableSchema(table(replaced('error', ['error', 'longtext', 'longtext'])), 't').problems,
    ).toEqual([]);
    expect(checkTableSchema(table(shapes), 't').problems).toEqual([]);
  });

  it('refuses DATETIME without microseconds', () => {
    expect(
      checkTableSchema(table(replaced('timestamp', ['timestamp', 'datetime', 'datetime', false])), 't')
        .problems,
    ).toEqual([
      'column timestamp is not DATETIME(6), which keeps microseconds: found datetime, expected DATETIME(6)',
    ]);
  });

  it('refuses FLOAT for a DOUBLE and an unsigned integer for a signed one', () => {
    const shapes = replaced('duration_ms', ['duration_ms', 'float', 'float']).map((s): Shape =>
      s[0] === 'image_total_pixels' ? [s[0], 'bigint', 'bigint unsigned'] : s,
    );
    expect(checkTableSchema(table(shapes), 't').problems).toEqual([
      'column duration_ms is not a DOUBLE: found float, expected DOUBLE',
      'column image_total_pixels is not a signed BIGINT: found bigint unsigned, expected BIGINT',
    ]);
  });

  it('names a missing column and the type to add', () => {
    const shapes = MYSQL8_PYTHON_TABLE.filter((s) => s[0] !== 'error_type');
    expect(checkTableSchema(table(shapes), 't').problems).toEqual([
      'column error_type is missing: add it as VARCHAR(255)',
    ]);
  });

  it('refuses an extra NOT NULL column without a default, which inserts cannot fill', () => {
    const shapes: Shape[] = [...MYSQL8_PYTHON_TABLE, ['tenant', 'varchar', 'varchar(20)', false]];
    expect(checkTableSchema(table(shapes), 't').problems).toEqual([
      'column tenant is NOT NULL without a default, and the sink does not write it',
    ]);
  });

  it('notes missing indexes and a non-InnoDB engine without refusing the table', () => {
    const report = checkTableSchema(
      { ...table(MYSQL8_PYTHON_TABLE, INDEXES.slice(0, 1)), engine: 'MyISAM' },
      't',
    );
    expect(report.problems).toEqual([]);
    expect(report.notes).toHaveLength(7);
    expect(report.notes).toContain('t has no index on (session_id, timestamp): queries by it will scan');
  });
});
