/**
 * The `metric_events` table, declared once. Every form a sink needs (DDL, the
 * COPY / LOAD DATA encoders, the Parquet schema, the row type) derives from this
 * list and from nothing else: adding a column is one line here plus its mapping.
 *
 * The table is the one the Python `llamonitor-async` writes (schema 1.0.0).
 */

export const SCHEMA_VERSION = '1.0.0';

/** What a column holds, independent of any database. */
export type ColumnKind = 'uuid' | 'string' | 'text' | 'timestamp' | 'double' | 'int32' | 'int64' | 'json';

export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  /** Longest value in characters (code points), where the column has a limit. */
  readonly maxLength?: number;
  readonly postgresType: string;
  readonly mysqlType: string;
  /** hyparquet-writer's basic type, or TIMESTAMP_MICROS for an INT64 TIMESTAMP(MICROS, UTC). */
  readonly parquetType: 'STRING' | 'JSON' | 'DOUBLE' | 'INT32' | 'INT64' | 'TIMESTAMP_MICROS';
  /** Filled by the database (a default), so the mapping never sets it and inserts leave it out. */
  readonly databaseDefault?: string;
  /** The only values the column holds: its TypeScript type is their union, and fitRow refuses any other. */
  readonly values?: readonly string[];
}

/** operation_type's vocabulary: every convention's span kind is normalised to one of these. */
export const OPERATION_TYPES = [
  'llm_call',
  'embedding',
  'tool_call',
  'agent',
  'workflow',
  'retrieval',
  'rerank',
  'guardrail',
  'evaluation',
  'image_generation',
  'other',
] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

/** MySQL's TEXT holds 65,535 bytes: at 4 UTF-8 bytes a code point this many characters always fit. */
const TEXT_MAX_CHARS = 16_383;

const id = <N extends string, Null extends boolean = false>(name: N, nullable?: Null) =>
  ({
    name,
    kind: 'string',
    nullable: (nullable ?? false) as Null,
    maxLength: 255,
    postgresType: 'VARCHAR(255)',
    mysqlType: 'VARCHAR(255)',
    parquetType: 'STRING',
  }) as const;

const int32 = <N extends string>(name: N) =>
  ({
    name,
    kind: 'int32',
    nullable: true,
    postgresType: 'INTEGER',
    mysqlType: 'INT',
    parquetType: 'INT32',
  }) as const;

const int64 = <N extends string>(name: N) =>
  ({
    name,
    kind: 'int64',
    nullable: true,
    postgresType: 'BIGINT',
    mysqlType: 'BIGINT',
    parquetType: 'INT64',
  }) as const;

const json = <N extends string>(name: N) =>
  ({
    name,
    kind: 'json',
    nullable: true,
    postgresType: 'JSONB',
    mysqlType: 'JSON',
    parquetType: 'JSON',
  }) as const;

export const COLUMNS = [
  {
    name: 'event_id',
    kind: 'uuid',
    nullable: false,
    maxLength: 36,
    postgresType: 'UUID',
    mysqlType: 'CHAR(36)',
    parquetType: 'STRING',
  },
  {
    name: 'schema_version',
    kind: 'string',
    nullable: false,
    maxLength: 20,
    postgresType: 'VARCHAR(20)',
    mysqlType: 'VARCHAR(20)',
    parquetType: 'STRING',
  },
  id('session_id'),
  id('trace_id'),
  id('span_id'),
  id('parent_span_id', true),
  id('operation_name'),
  {
    name: 'operation_type',
    kind: 'string',
    nullable: false,
    maxLength: 50,
    values: OPERATION_TYPES,
    postgresType: 'VARCHAR(50)',
    mysqlType: 'VARCHAR(50)',
    parquetType: 'STRING',
  },
  {
    name: 'timestamp',
    kind: 'timestamp',
    nullable: false,
    postgresType: 'TIMESTAMPTZ',
    mysqlType: 'DATETIME(6)',
    parquetType: 'TIMESTAMP_MICROS',
  },
  {
    name: 'duration_ms',
    kind: 'double',
    nullable: true,
    postgresType: 'DOUBLE PRECISION',
    mysqlType: 'DOUBLE',
    parquetType: 'DOUBLE',
  },
  int32('text_char_count'),
  int32('text_word_count'),
  int32('text_byte_size'),
  int32('text_line_count'),
  json('text_custom_metrics'),
  int32('image_count'),
  int64('image_total_pixels'),
  int64('image_file_size_bytes'),
  int32('image_width'),
  int32('image_height'),
  {
    name: 'image_format',
    kind: 'string',
    nullable: true,
    maxLength: 20,
    postgresType: 'VARCHAR(20)',
    mysqlType: 'VARCHAR(20)',
    parquetType: 'STRING',
  },
  json('image_custom_metrics'),
  {
    name: 'error',
    kind: 'text',
    nullable: true,
    maxLength: TEXT_MAX_CHARS,
    postgresType: 'TEXT',
    mysqlType: 'TEXT',
    parquetType: 'STRING',
  },
  id('error_type', true),
  json('custom_attributes'),
  {
    name: 'created_at',
    kind: 'timestamp',
    nullable: true,
    postgresType: 'TIMESTAMPTZ',
    mysqlType: 'TIMESTAMP',
    parquetType: 'TIMESTAMP_MICROS',
    databaseDefault: 'CURRENT_TIMESTAMP',
  },
] as const satisfies readonly ColumnSpec[];

export type Column = (typeof COLUMNS)[number];
export type ColumnName = Column['name'];

/** The columns a writer supplies: every column but those the database fills. */
export const INSERT_COLUMNS: readonly ColumnSpec[] = COLUMNS.filter(
  (c: ColumnSpec) => c.databaseDefault === undefined,
);
export type InsertColumnName = Exclude<ColumnName, 'created_at'>;

export const PRIMARY_KEY: ColumnName = 'event_id';

/** The six indexes of the seed table; the time column of each sorts newest first. */
export const INDEXES: readonly { readonly suffix: string; readonly columns: readonly ColumnName[] }[] = [
  { suffix: 'session', columns: ['session_id', 'timestamp'] },
  { suffix: 'trace', columns: ['trace_id', 'timestamp'] },
  { suffix: 'span', columns: ['span_id'] },
  { suffix: 'parent_span', columns: ['parent_span_id'] },
  { suffix: 'timestamp', columns: ['timestamp'] },
  { suffix: 'operation', columns: ['operation_name', 'timestamp'] },
];

/** The JavaScript value each column kind holds in a MetricEvent. */
export interface JsonObject {
  [key: string]: JsonValue;
}
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

interface KindValue {
  uuid: string;
  string: string;
  text: string;
  /** ISO-8601 in UTC with six fractional digits, `2026-01-02T03:04:05.123456Z`: a Date holds only ms. */
  timestamp: string;
  double: number;
  int32: number;
  /** A number while it is a safe integer; a bigint keeps larger values exact. */
  int64: number | bigint;
  json: JsonObject;
}

/** A column with a vocabulary holds one of its values; any other, what its kind holds. */
type KindValueOf<C extends Column> = C extends { readonly values: readonly (infer V)[] }
  ? V
  : KindValue[C['kind']];

type ValueOf<C extends Column> = C['nullable'] extends true ? KindValueOf<C> | null : KindValueOf<C>;

/** One row of `metric_events`, keyed by column name; JSON columns as objects. */
export type MetricEvent = {
  [C in Column as C['name'] extends 'created_at' ? never : C['name']]: ValueOf<C>;
};

const byName = new Map<string, ColumnSpec>(COLUMNS.map((c) => [c.name, c]));

export function columnSpec(name: ColumnName): ColumnSpec {
  const spec = byName.get(name);
  if (!spec) throw new Error(`unknown metric_events column: ${name}`);
  return spec;
}
