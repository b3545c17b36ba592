/**
 * The MySQL table, derived from the column table: the same DDL the Python
 * `llamonitor-async` runs (InnoDB, utf8mb4, JSON, DATETIME(6), six indexes
 * named idx_<suffix>), so a table made by either serves both.
 */
import { COLUMNS, INDEXES, PRIMARY_KEY, type ColumnSpec } from '../../schema/columns.js';
import { assertIdentifier } from '../../schema/identifier.js';

/** `name` in backticks, after checking it is a plain identifier. */
export function quoteIdentifier(name: string): string {
  return `\`${assertIdentifier('MySQL identifier', name)}\``;
}

function columnDefinition(spec: ColumnSpec): string {
  const nullability = spec.nullable ? 'NULL' : 'NOT NULL';
  const byDefault = spec.databaseDefault ? ` DEFAULT ${spec.databaseDefault}` : '';
  return `${quoteIdentifier(spec.name)} ${spec.mysqlType} ${nullability}${byDefault}`;
}

/** The index name the Python table uses, e.g. idx_session. */
export function indexName(suffix: string): string {
  return `idx_${suffix}`;
}

/**
 * CREATE TABLE IF NOT EXISTS with the indexes inline: one statement, so two
 * processes starting together cannot race on separate CREATE INDEX statements.
 */
export function createTableSql(table: string): string {
  const lines = [
    ...(COLUMNS as readonly ColumnSpec[]).map(columnDefinition),
    `PRIMARY KEY (${quoteIdentifier(PRIMARY_KEY)})`,
    ...INDEXES.map(
      (index) =>
        `INDEX ${quoteIdentifier(indexName(index.suffix))} (${index.columns.map(quoteIdentifier).join(', ')})`,
    ),
  ];
  return (
    `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (\n  ${lines.join(',\n  ')}\n)` +
    ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci'
  );
}
