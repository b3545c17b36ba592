/**
 * What an existing table looks like (information_schema) and whether rows of
 * the column table fit it. The check accepts any type that holds every value
 * the sink writes: the Python table, MySQL 8's JSON and MariaDB's LONGTEXT JSON.
 */
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { COLUMNS, INDEXES, PRIMARY_KEY, type ColumnSpec, type IndexSpec } from '../../schema/columns.js';
import { writtenColumns, type WrittenColumns } from '../table-columns.js';
import { mysqlType } from './column-types.js';

export interface FoundColumn {
  readonly name: string;
  /** information_schema DATA_TYPE, lower case: varchar, int, json, longtext, ... */
  readonly dataType: string;
  /** COLUMN_TYPE, e.g. varchar(255), int(11) unsigned. */
  readonly columnType: string;
  readonly charLength: number | null;
  readonly octetLength: number | null;
  readonly datetimePrecision: number | null;
  readonly charset: string | null;
  readonly nullable: boolean;
  /** True when inserts may leave the column out: it has a default, is nullable, generated or auto-increment. */
  readonly optional: boolean;
}

export interface FoundIndex {
  readonly name: string;
  readonly unique: boolean;
  readonly columns: readonly string[];
}

export interface FoundTable {
  readonly engine: string | null;
  readonly columns: readonly FoundColumn[];
  readonly indexes: readonly FoundIndex[];
}

export interface SchemaReport {
  /** Reasons rows cannot be written correctly; any one stops start-up. */
  readonly problems: readonly string[];
  /** Things that work but should be fixed (missing indexes, an engine without transactions). */
  readonly notes: readonly string[];
}

const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

/** Characters a text column holds for sure: its declared length, or its byte size at 4 bytes a character. */
function capacityInChars(column: FoundColumn): number {
  if (column.dataType === 'char' || column.dataType === 'varchar') return column.charLength ?? 0;
  return Math.floor((column.octetLength ?? 0) / 4);
}

function typeProblem(spec: ColumnSpec, column: FoundColumn): string | undefined {
  const type = column.dataType;
  const unsigned = /unsigned/i.test(column.columnType);
  switch (spec.kind) {
    case 'uuid':
    case 'string':
    case 'text': {
      if (!TEXT_TYPES.has(type)) return 'is not a text type';
      if (capacityInChars(column) < (spec.maxLength ?? 0))
        return `holds fewer than ${spec.maxLength} characters`;
      if (spec.kind !== 'uuid' && column.charset !== 'utf8mb4') {
        return `uses character set ${column.charset}, which refuses emoji: convert the table to utf8mb4`;
      }
      return undefined;
    }
    case 'timestamp':
      if (spec.databaseDefault !== undefined) {
        return type === 'datetime' || type === 'timestamp' ? undefined : 'is not a DATETIME or TIMESTAMP';
      }
      return type === 'datetime' && column.datetimePrecision === 6
        ? undefined
        : 'is not DATETIME(6), which keeps microseconds';
    case 'double':
      return type === 'double' ? undefined : 'is not a DOUBLE';
    case 'int32':
      return (type === 'int' || type === 'bigint') && !unsigned ? undefined : 'is not a signed INT or BIGINT';
    case 'int64':
      return type === 'bigint' && !unsigned ? undefined : 'is not a signed BIGINT';
    case 'json':
      // MariaDB's JSON is LONGTEXT with a json_valid check.
      return type === 'json' || (type === 'longtext' && column.charset === 'utf8mb4')
        ? undefined
        : 'is not JSON (or MariaDB LONGTEXT utf8mb4)';
  }
}

/** Compares a table with the column table; `table` names it in the messages. */
export function checkTableSchema(found: FoundTable, table: string): SchemaReport {
  const problems: string[] = [];
  const notes: string[] = [];
  const byName = new Map(found.columns.map((c) => [c.name.toLowerCase(), c]));
  const expectedNames = new Set<string>();

  for (const spec of COLUMNS as readonly ColumnSpec[]) {
    expectedNames.add(spec.name);
    const column = byName.get(spec.name);
    if (!column) {
      // A column a later version added is written where present; prepare() or `llamonitor migrate` adds it.
      if (spec.since === '1.0.0')
        problems.push(`column ${spec.name} is missing: add it as ${mysqlType(spec)}`);
      continue;
    }
    const problem = typeProblem(spec, column);
    if (problem) {
      problems.push(
        `column ${spec.name} ${problem}: found ${column.columnType}, expected ${mysqlType(spec)}`,
      );
    }
    if (spec.nullable && !column.nullable) {
      problems.push(`column ${spec.name} is NOT NULL, but rows may have no value: make it NULL`);
    }
  }
  for (const column of found.columns) {
    if (!expectedNames.has(column.name.toLowerCase()) && !column.optional) {
      problems.push(`column ${column.name} is NOT NULL without a default, and the sink does not write it`);
    }
  }

  // event_id alone, or (event_id, timestamp): a time-partitioned table's key (a span's timestamp never changes).
  const keyed = found.indexes.some((index) => {
    const columns = index.columns.map((name) => name.toLowerCase()).sort();
    return (
      index.unique && (columns.join(',') === PRIMARY_KEY || columns.join(',') === `${PRIMARY_KEY},timestamp`)
    );
  });
  if (!keyed) {
    problems.push(
      `${PRIMARY_KEY} is neither the PRIMARY KEY nor UNIQUE, so a batch written twice would be stored twice: add PRIMARY KEY (${PRIMARY_KEY})`,
    );
  }
  for (const wanted of INDEXES) {
    if (!wanted.columns.every((name) => byName.has(name))) continue; // its columns are added first
    if (!hasIndex(found, wanted)) {
      const how = wanted.since === '1.0.0' ? '' : ' (`llamonitor migrate` builds it online)';
      notes.push(`${table} has no index on (${wanted.columns.join(', ')}): queries by it will scan${how}`);
    }
  }
  if (found.engine !== null && found.engine.toLowerCase() !== 'innodb') {
    notes.push(
      `${table} uses the ${found.engine} engine: a failed batch cannot be rolled back; InnoDB is expected`,
    );
  }
  return { problems, notes };
}

function hasIndex(found: FoundTable, wanted: IndexSpec): boolean {
  return found.indexes.some(
    (index) =>
      index.columns.length >= wanted.columns.length &&
      wanted.columns.every((name, i) => index.columns[i]?.toLowerCase() === name),
  );
}

/** The columns the sink writes into this table. */
export function writtenColumnsOf(found: FoundTable): WrittenColumns {
  const names = new Set(found.columns.map((c) => c.name.toLowerCase()));
  return writtenColumns((name) => names.has(name));
}

/** The indexes added after 1.0.0 that the table lacks (those of 1.0 are the notes' business). */
export function missingIndexes(found: FoundTable): IndexSpec[] {
  return INDEXES.filter((index) => index.since !== '1.0.0' && !hasIndex(found, index));
}

type Row = RowDataPacket & Record<string, unknown>;

const numberOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

/** The table as information_schema describes it, or undefined when it does not exist. */
export async function readTable(connection: PoolConnection, table: string): Promise<FoundTable | undefined> {
  const [tables] = await connection.query<Row[]>(
    'SELECT ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [table],
  );
  if (tables.length === 0) return undefined;
  const [columns] = await connection.query<Row[]>(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType,
            CHARACTER_MAXIMUM_LENGTH AS charLength, CHARACTER_OCTET_LENGTH AS octetLength,
            DATETIME_PRECISION AS datetimePrecision, CHARACTER_SET_NAME AS charset,
            IS_NULLABLE AS isNullable, COLUMN_DEFAULT AS columnDefault, EXTRA AS extra
       FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
      ORDER BY ORDINAL_POSITION`,
    [table],
  );
  const [indexRows] = await connection.query<Row[]>(
    `SELECT INDEX_NAME AS indexName, NON_UNIQUE AS nonUnique, COLUMN_NAME AS name
       FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
      ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [table],
  );
  const indexes = new Map<string, { name: string; unique: boolean; columns: string[] }>();
  for (const row of indexRows) {
    const name = String(row.indexName);
    const index = indexes.get(name) ?? { name, unique: Number(row.nonUnique) === 0, columns: [] };
    index.columns.push(String(row.name));
    indexes.set(name, index);
  }
  return {
    engine: tables[0]?.engine === null || tables[0]?.engine === undefined ? null : String(tables[0].engine),
    columns: columns.map((row) => {
      const nullable = row.isNullable === 'YES';
      const extra = String(row.extra ?? '').toLowerCase();
      return {
        name: String(row.name),
        dataType: String(row.dataType).toLowerCase(),
        columnType: String(row.columnType).toLowerCase(),
        charLength: numberOrNull(row.charLength),
        octetLength: numberOrNull(row.octetLength),
        datetimePrecision: numberOrNull(row.datetimePrecision),
        charset: row.charset === null || row.charset === undefined ? null : String(row.charset),
        nullable,
        optional:
          nullable ||
          (row.columnDefault !== null && row.columnDefault !== undefined) ||
          extra.includes('auto_increment') ||
          extra.includes('generated'),
      };
    }),
    indexes: [...indexes.values()],
  };
}
