/**
 * Which columns a sink writes into an existing table. A table of an earlier
 * schema version (the Python project's, this package's 1.0) may lack the
 * columns a later version added; rows still go into the columns it has, and
 * carry the version whose shape they have.
 */
import {
  ADDED_COLUMNS,
  INSERT_COLUMNS,
  SCHEMA_VERSION_1_0,
  type ColumnSpec,
  type SchemaVersion,
} from '../schema/columns.js';

export interface WrittenColumns {
  /** The insert columns the table has, in the column table's order: the order of every bulk row. */
  readonly columns: readonly ColumnSpec[];
  /** The columns added after 1.0.0 that the table lacks. */
  readonly missing: readonly ColumnSpec[];
  /** The schema_version every row is written with, when not its own: 1.0.0 while a 1.1 column is missing. */
  readonly schemaVersion: SchemaVersion | undefined;
}

/** Every insert column: a table this version created. */
export const ALL_COLUMNS: WrittenColumns = {
  columns: INSERT_COLUMNS,
  missing: [],
  schemaVersion: undefined,
};

/** The columns to write into a table that has the columns `has` answers true for (names in lower case). */
export function writtenColumns(has: (name: string) => boolean): WrittenColumns {
  const missing = ADDED_COLUMNS.filter((column) => !has(column.name));
  if (missing.length === 0) return ALL_COLUMNS;
  return {
    columns: INSERT_COLUMNS.filter((column) => has(column.name)),
    missing,
    schemaVersion: SCHEMA_VERSION_1_0,
  };
}

/** The one line a sink logs (once) about a table it writes without some columns. */
export function missingColumnsMessage(
  table: string,
  target: string,
  missing: readonly ColumnSpec[],
  why: string,
): string {
  const names = missing.map((column) => column.name).join(', ');
  return (
    `table ${table} at ${target} lacks the schema 1.1 columns ${names} (${why}): ` +
    `rows are stored without them, as schema 1.0.0 rows (the JSON columns still hold every value). ` +
    `Run "llamonitor migrate" to add them (docs/upgrading.md).`
  );
}
