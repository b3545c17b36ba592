/**
 * The `metric_events` table, declared once: each column by name, a
 * dialect-neutral kind, its nullability and the schema version that added it.
 * Every form a sink needs (DDL, the COPY / LOAD DATA encoders, the Parquet
 * schema, the row type) derives from this list; each sink turns a kind into
 * its own type (`columnType` of its definition). Adding a column is one line
 * here plus its mapping.
 *
 * Version 1.0.0 is the table the Python `llamonitor-async` writes; 1.1.0
 * appends nullable columns after `created_at`, which prepare() adds to an
 * existing table (docs/upgrading.md).
 */

/** The version rows written with every column carry. */
export const SCHEMA_VERSION = '1.1.0';
/** The version rows written into a table that lacks a 1.1 column carry: the shape they have. */
export const SCHEMA_VERSION_1_0 = '1.0.0';
export type SchemaVersion = typeof SCHEMA_VERSION | typeof SCHEMA_VERSION_1_0;

/**
 * What a column holds, independent of any database: `uuid` an id in UUID
 * form, `string` text of at most `maxLength` characters, `text` longer text,
 * `timestamp` an instant with microseconds.
 */
export type ColumnKind = 'uuid' | 'string' | 'text' | 'timestamp' | 'double' | 'int32' | 'int64' | 'json';

export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  /** The schema version that added the column. */
  readonly since: SchemaVersion;
  /** Longest value in characters (code points), where the column has a limit. */
  readonly maxLength?: number;
  /** Filled by the database (a default), so the mapping never sets it and inserts leave it out. */
  readonly databaseDefault?: 'CURRENT_TIMESTAMP';
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

type Since = { readonly since: SchemaVersion };
const V1_0 = { since: '1.0.0' } as const satisfies Since;
const V1_1 = { since: '1.1.0' } as const satisfies Since;

const string = <N extends string, L extends number, Null extends boolean, S extends Since>(
  name: N,
  maxLength: L,
  nullable: Null,
  version: S,
) => ({ name, kind: 'string', nullable, maxLength, ...version }) as const;

const number = <N extends string, K extends 'double' | 'int32' | 'int64', S extends Since>(
  name: N,
  kind: K,
  version: S,
) => ({ name, kind, nullable: true, ...version }) as const;

const json = <N extends string>(name: N) => ({ name, kind: 'json', nullable: true, ...V1_0 }) as const;

export const COLUMNS = [
  { name: 'event_id', kind: 'uuid', nullable: false, maxLength: 36, ...V1_0 },
  string('schema_version', 20, false, V1_0),
  string('session_id', 255, false, V1_0),
  string('trace_id', 255, false, V1_0),
  string('span_id', 255, false, V1_0),
  string('parent_span_id', 255, true, V1_0),
  string('operation_name', 255, false, V1_0),
  { ...string('operation_type', 50, false, V1_0), values: OPERATION_TYPES },
  { name: 'timestamp', kind: 'timestamp', nullable: false, ...V1_0 },
  number('duration_ms', 'double', V1_0),
  number('text_char_count', 'int32', V1_0),
  number('text_word_count', 'int32', V1_0),
  number('text_byte_size', 'int32', V1_0),
  number('text_line_count', 'int32', V1_0),
  json('text_custom_metrics'),
  number('image_count', 'int32', V1_0),
  number('image_total_pixels', 'int64', V1_0),
  number('image_file_size_bytes', 'int64', V1_0),
  number('image_width', 'int32', V1_0),
  number('image_height', 'int32', V1_0),
  string('image_format', 20, true, V1_0),
  json('image_custom_metrics'),
  { name: 'error', kind: 'text', nullable: true, maxLength: TEXT_MAX_CHARS, ...V1_0 },
  string('error_type', 255, true, V1_0),
  json('custom_attributes'),
  { name: 'created_at', kind: 'timestamp', nullable: true, databaseDefault: 'CURRENT_TIMESTAMP', ...V1_0 },
  // 1.1.0: the questions users group and sum by, as columns (docs/upgrading.md).
  string('model', 255, true, V1_1),
  string('provider', 100, true, V1_1),
  number('input_tokens', 'int64', V1_1),
  number('output_tokens', 'int64', V1_1),
  number('total_tokens', 'int64', V1_1),
  number('cache_read_tokens', 'int64', V1_1),
  number('cache_write_tokens', 'int64', V1_1),
  number('reasoning_tokens', 'int64', V1_1),
  number('cost_usd', 'double', V1_1),
  number('time_to_first_token_ms', 'double', V1_1),
  string('finish_reason', 50, true, V1_1),
  string('user_id', 255, true, V1_1),
  string('service_name', 255, true, V1_1),
] as const satisfies readonly ColumnSpec[];

export type Column = (typeof COLUMNS)[number];
export type ColumnName = Column['name'];

/** The columns a writer supplies: every column but those the database fills. */
export const INSERT_COLUMNS: readonly ColumnSpec[] = COLUMNS.filter(
  (c: ColumnSpec) => c.databaseDefault === undefined,
);
export type InsertColumnName = Exclude<ColumnName, 'created_at'>;

/** The columns a schema version added after 1.0.0: a table may lack them, and prepare() adds them. */
export const ADDED_COLUMNS: readonly ColumnSpec[] = COLUMNS.filter((c: ColumnSpec) => c.since !== '1.0.0');

export const PRIMARY_KEY: ColumnName = 'event_id';

export interface IndexSpec {
  /** `<table>_<suffix>_idx` in PostgreSQL, `idx_<suffix>` in MySQL (the Python table's names). */
  readonly suffix: string;
  readonly columns: readonly ColumnName[];
  /** Indexes added after 1.0.0 are made with a new table, or by `llamonitor migrate` on an existing one. */
  readonly since: SchemaVersion;
}

/** The seed table's six indexes and 1.1's model index; the time column of each sorts newest first. */
export const INDEXES: readonly IndexSpec[] = [
  { suffix: 'session', columns: ['session_id', 'timestamp'], since: '1.0.0' },
  { suffix: 'trace', columns: ['trace_id', 'timestamp'], since: '1.0.0' },
  { suffix: 'span', columns: ['span_id'], since: '1.0.0' },
  { suffix: 'parent_span', columns: ['parent_span_id'], since: '1.0.0' },
  { suffix: 'timestamp', columns: ['timestamp'], since: '1.0.0' },
  { suffix: 'operation', columns: ['operation_name', 'timestamp'], since: '1.0.0' },
  { suffix: 'model', columns: ['model', 'timestamp'], since: '1.1.0' },
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

/**
 * The stored columns a row's cost is worked out from and kept in, as
 * re-pricing reads them back (`timestamp` as ISO 8601 text, counts as numbers).
 */
export interface StoredCostColumns {
  readonly timestamp: string;
  readonly model: string | null;
  readonly provider: string | null;
  readonly input_tokens: number | null;
  readonly output_tokens: number | null;
  readonly cache_read_tokens: number | null;
  readonly cache_write_tokens: number | null;
  readonly reasoning_tokens: number | null;
  readonly cost_usd: number | null;
  readonly text_custom_metrics: JsonObject | null;
  readonly custom_attributes: JsonObject | null;
}

const byName = new Map<string, ColumnSpec>(COLUMNS.map((c) => [c.name, c]));

export function columnSpec(name: ColumnName): ColumnSpec {
  const spec = byName.get(name);
  if (!spec) throw new Error(`unknown metric_events column: ${name}`);
  return spec;
}
