/**
 * The SQL text the sink sends, derived from the column table. Only checked
 * identifiers (schema/identifier.ts) and the column table's own names reach
 * it; every value travels as data (COPY rows or bind parameters).
 */
import { createHash } from 'node:crypto';
import { UNENDED_ERROR_TYPE } from '../../schema/unended-calls.js';
import {
  COLUMNS,
  INDEXES,
  INSERT_COLUMNS,
  PRIMARY_KEY,
  columnSpec,
  type ColumnSpec,
  type IndexSpec,
} from '../../schema/columns.js';
import { postgresType } from './column-types.js';
import { assertIdentifier } from '../../schema/identifier.js';

const MAX_IDENTIFIER_LENGTH = 63;

/** The table's name as SQL, schema-qualified when a schema is given; checks both names first. */
export interface TableName {
  readonly schema: string | undefined;
  readonly table: string;
  /** `"schema"."table"` or `"table"`: names are used exactly as given (case-sensitive). */
  readonly sql: string;
}

export function tableName(table: string, schema?: string): TableName {
  assertIdentifier('table name', table);
  if (schema !== undefined) assertIdentifier('schema name', schema);
  const sql = schema === undefined ? quote(table) : `${quote(schema)}.${quote(table)}`;
  return { schema, table, sql };
}

/** Double-quotes a name that assertIdentifier or the column table has already vetted. */
export function quote(identifier: string): string {
  return `"${identifier}"`;
}

/** Columns as an SQL list, in the order given: the order of every COPY row. */
export function columnList(columns: readonly ColumnSpec[]): string {
  return columns.map((c) => quote(c.name)).join(', ');
}

/** Every column a writer supplies, as SQL. */
export const insertColumnList = columnList(INSERT_COLUMNS);

/** How long a change to the table's definition may wait for its lock before it gives up (and is tried later). */
export const DDL_LOCK_TIMEOUT = '2s';

export function createSchemaStatement(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`;
}

export function createTableStatement(name: TableName): string {
  const columns = COLUMNS.map((c: ColumnSpec) => {
    const parts = [quote(c.name), postgresType(c)];
    if (c.name === PRIMARY_KEY) parts.push('PRIMARY KEY');
    else if (!c.nullable) parts.push('NOT NULL');
    if (c.databaseDefault !== undefined) parts.push(`DEFAULT ${c.databaseDefault}`);
    return `  ${parts.join(' ')}`;
  });
  return `CREATE TABLE IF NOT EXISTS ${name.sql} (\n${columns.join(',\n')}\n)`;
}

/** The indexes of a new table; time columns sort newest first, as the Python project's do. */
export function createIndexStatements(name: TableName): string[] {
  return INDEXES.map((index) => createIndexStatement(name, index, false));
}

/**
 * One index. `concurrently`: built without blocking writes (`llamonitor migrate`
 * on an existing table; it cannot run inside a transaction).
 */
export function createIndexStatement(name: TableName, index: IndexSpec, concurrently: boolean): string {
  const columns = index.columns.map((column) =>
    columnSpec(column).kind === 'timestamp' ? `${quote(column)} DESC` : quote(column),
  );
  const how = concurrently ? 'CONCURRENTLY ' : '';
  return `CREATE INDEX ${how}IF NOT EXISTS ${quote(indexName(name.table, index.suffix))} ON ${name.sql} (${columns.join(', ')})`;
}

/**
 * Adds nullable columns without a default: PostgreSQL records them in the
 * catalog only, whatever the table's size (no rewrite, no scan).
 */
export function addColumnsStatement(name: TableName, columns: readonly ColumnSpec[]): string {
  const additions = columns.map((c) => `ADD COLUMN IF NOT EXISTS ${quote(c.name)} ${postgresType(c)}`);
  return `ALTER TABLE ${name.sql} ${additions.join(', ')}`;
}

/**
 * `<table>_<suffix>_idx`. PostgreSQL cuts longer names to 63 characters, which
 * could give two indexes one name: a long table name is shortened and a hash of it keeps them apart.
 */
export function indexName(table: string, suffix: string): string {
  return nameAfterTable(table, `${suffix}_idx`);
}

/**
 * `<table>_<tail>` within PostgreSQL's 63 characters: a table name too long is
 * cut, and a hash of it keeps the names of two tables apart (indexes,
 * partitions, a converted table's old copy).
 */
export function nameAfterTable(table: string, tail: string): string {
  const name = `${table}_${tail}`;
  if (name.length <= MAX_IDENTIFIER_LENGTH) return name;
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 8);
  const room = MAX_IDENTIFIER_LENGTH - `_${hash}_${tail}`.length;
  return `${table.slice(0, room)}_${hash}_${tail}`;
}

/** COPY of `columns`, in that order, in PostgreSQL's text format. */
export function copyStatement(tableSql: string, columns: readonly ColumnSpec[] = INSERT_COLUMNS): string {
  return `COPY ${tableSql} (${columnList(columns)}) FROM STDIN`;
}

export const STAGING_TABLE = 'llamonitor_staging';

/**
 * A temporary table for the conflict path, typed as the target's columns are
 * (`types` from the catalog), so COPY reads each value exactly as it would into the target.
 */
export function createStagingStatement(
  types: ReadonlyMap<string, string>,
  columns: readonly ColumnSpec[] = INSERT_COLUMNS,
): string {
  const definitions = columns.map((c) => `${quote(c.name)} ${types.get(c.name) ?? postgresType(c)}`);
  return `CREATE TEMPORARY TABLE ${STAGING_TABLE} (${definitions.join(', ')}) ON COMMIT DROP`;
}

/**
 * Skips rows whose event_id is stored. No conflict target: `ON CONFLICT (event_id)`
 * would need SELECT on the table, and a role that may only INSERT must work too.
 */
export function insertFromStagingStatement(
  name: TableName,
  columns: readonly ColumnSpec[] = INSERT_COLUMNS,
): string {
  const list = columnList(columns);
  return `INSERT INTO ${name.sql} (${list}) SELECT ${list} FROM ${STAGING_TABLE} ON CONFLICT DO NOTHING`;
}

/**
 * Replaces each stored row of a span that was never ended (schema/unended-calls.ts)
 * by the staged real row of the same event_id: the span ended after all.
 */
export function replaceUnendedStatement(
  name: TableName,
  columns: readonly ColumnSpec[] = INSERT_COLUMNS,
): string {
  const set = columns.filter((c) => c.name !== 'event_id');
  const event = quote('event_id');
  const errorType = quote('error_type');
  return (
    `UPDATE ${name.sql} AS stored SET (${columnList(set)}) = ` +
    `(${set.map((c) => `staged.${quote(c.name)}`).join(', ')}) FROM ${STAGING_TABLE} AS staged ` +
    `WHERE stored.${event} = staged.${event} AND stored.${errorType} = '${UNENDED_ERROR_TYPE}' ` +
    `AND staged.${errorType} IS DISTINCT FROM '${UNENDED_ERROR_TYPE}'`
  );
}
