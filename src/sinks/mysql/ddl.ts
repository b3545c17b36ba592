/**
 * The MySQL table, derived from the column table: the same DDL the Python
 * `llamonitor-async` runs (InnoDB, utf8mb4, JSON, DATETIME(6), six indexes
 * named idx_<suffix>), so a table made by either serves both.
 */
import { createHash } from 'node:crypto';
import { COLUMNS, INDEXES, PRIMARY_KEY, type ColumnSpec, type IndexSpec } from '../../schema/columns.js';
import { assertIdentifier } from '../../schema/identifier.js';
import { mysqlType } from './column-types.js';

/** `name` in backticks, after checking it is a plain identifier. */
export function quoteIdentifier(name: string): string {
  return `\`${assertIdentifier('MySQL identifier', name)}\``;
}

function columnDefinition(spec: ColumnSpec): string {
  const nullability = spec.nullable ? 'NULL' : 'NOT NULL';
  const byDefault = spec.databaseDefault ? ` DEFAULT ${spec.databaseDefault}` : '';
  return `${quoteIdentifier(spec.name)} ${mysqlType(spec)} ${nullability}${byDefault}`;
}

/** The index name the Python table uses, e.g. idx_session. */
export function indexName(suffix: string): string {
  return `idx_${suffix}`;
}

/**
 * CREATE TABLE IF NOT EXISTS with the indexes inline: one statement, so two
 * processes starting together cannot race on separate CREATE INDEX statements.
 * With `partitionClause` (partitions.ts), the table is partitioned by range
 * of `timestamp` and its primary key is (event_id, timestamp).
 */
export function createTableSql(table: string, partitionClause?: string): string {
  const key =
    partitionClause === undefined
      ? quoteIdentifier(PRIMARY_KEY)
      : `${quoteIdentifier(PRIMARY_KEY)}, \`timestamp\``;
  const lines = [
    ...(COLUMNS as readonly ColumnSpec[]).map(columnDefinition),
    `PRIMARY KEY (${key})`,
    ...INDEXES.map(
      (index) =>
        `INDEX ${quoteIdentifier(indexName(index.suffix))} (${index.columns.map(quoteIdentifier).join(', ')})`,
    ),
  ];
  return (
    `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (\n  ${lines.join(',\n  ')}\n)` +
    ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci' +
    (partitionClause ?? '')
  );
}

/** Seconds a change to the table's definition waits for its metadata lock before it gives up (and is tried later). */
export const DDL_LOCK_WAIT_SECONDS = 2;

/**
 * Adds nullable columns at the end. `instant`: ALGORITHM=INSTANT (MariaDB
 * 10.3.2+, MySQL 8.0.12+), a change to the data dictionary only, which the
 * server refuses rather than copy the table; without it the server may copy
 * the table (`llamonitor migrate` on an older server, documented).
 */
export function addColumnsSql(table: string, columns: readonly ColumnSpec[], instant: boolean): string {
  const additions = columns.map((c) => `ADD COLUMN ${columnDefinition(c)}`);
  return `ALTER TABLE ${quoteIdentifier(table)} ${additions.join(', ')}${instant ? ', ALGORITHM=INSTANT' : ''}`;
}

/** One index built online: InnoDB keeps taking writes while it builds (ALGORITHM=INPLACE, LOCK=NONE). */
export function addIndexSql(table: string, index: IndexSpec): string {
  const columns = index.columns.map(quoteIdentifier).join(', ');
  return (
    `ALTER TABLE ${quoteIdentifier(table)} ADD INDEX ${quoteIdentifier(indexName(index.suffix))} (${columns}), ` +
    'ALGORITHM=INPLACE, LOCK=NONE'
  );
}

/**
 * The name of the server-wide lock (GET_LOCK) that lets one process at a time
 * change this table's definition: at most 64 characters, whatever the names' lengths.
 */
export function definitionLockName(database: string, table: string): string {
  const hash = createHash('sha256').update(`${database}.${table}`).digest('hex').slice(0, 40);
  return `llamonitor-otel:${hash}`;
}
