/**
 * What an existing table looks like, read from the catalog, and whether the
 * sink can write its rows into it. A table made by the Python llamonitor-async
 * (TIMESTAMP without time zone, FLOAT) fits; one whose columns would refuse or
 * change the rows does not, and the problem names the column.
 */
import type pg from 'pg';
import { COLUMNS, INDEXES, PRIMARY_KEY, type ColumnSpec, type IndexSpec } from '../../schema/columns.js';
import { writtenColumns, type WrittenColumns } from '../table-columns.js';
import { postgresType } from './column-types.js';
import { indexName, type TableName } from './ddl.js';

export interface FoundColumn {
  readonly name: string;
  /** pg_type.typname: `varchar`, `timestamp`, `float8`, ... */
  readonly typeName: string;
  /** format_type(): `character varying(255)`, as SQL spells it. */
  readonly declared: string;
  /** Length for varchar/bpchar, precision for timestamps; undefined when unlimited or default. */
  readonly size: number | undefined;
  readonly notNull: boolean;
  readonly hasDefault: boolean;
}

export interface TableShape {
  readonly columns: readonly FoundColumn[];
  /**
   * A unique index on event_id alone, or on (event_id, timestamp) (a time-partitioned table's
   * primary key: a span's timestamp never changes): without one a row sent twice would be stored twice.
   */
  readonly uniqueEventId: boolean;
  /** Partitioned (declaratively, by range of timestamp when the package made it). */
  readonly partitioned: boolean;
  readonly canInsert: boolean;
  /** The conflict path stages rows in a temporary table. */
  readonly canCreateTemporary: boolean;
  readonly user: string;
  /** The names of the table's indexes. */
  readonly indexNames: readonly string[];
}

/** The table's shape, or undefined when no such table is visible to this connection. */
export async function readTableShape(
  client: pg.ClientBase,
  name: TableName,
): Promise<TableShape | undefined> {
  const found = await client.query<{
    oid: number | null;
    user: string;
    can_insert: boolean | null;
    can_temp: boolean;
  }>(
    `SELECT to_regclass($1)::oid AS oid, current_user AS user,
            has_table_privilege(to_regclass($1), 'INSERT') AS can_insert,
            has_database_privilege(current_database(), 'TEMPORARY') AS can_temp`,
    [name.sql],
  );
  const head = found.rows[0];
  if (!head || head.oid === null) return undefined;
  const columns = await client.query<{
    name: string;
    type_name: string;
    declared: string;
    modifier: number;
    not_null: boolean;
    has_default: boolean;
  }>(
    `SELECT a.attname AS name, t.typname AS type_name, format_type(a.atttypid, a.atttypmod) AS declared,
            a.atttypmod AS modifier, a.attnotnull AS not_null, a.atthasdef AS has_default
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [head.oid],
  );
  const unique = await client.query<{ present: boolean; partitioned: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_index i
        WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text)
                 FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) AS k(attnum)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
              IN (ARRAY[$2::text], ARRAY[$2::text, 'timestamp'])) AS present,
            EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = $1) AS partitioned`,
    [head.oid, PRIMARY_KEY],
  );
  const indexes = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1`,
    [head.oid],
  );
  return {
    indexNames: indexes.rows.map((row) => row.name),
    columns: columns.rows.map((row) => ({
      name: row.name,
      typeName: row.type_name,
      declared: row.declared,
      size: sizeOf(row.type_name, row.modifier),
      notNull: row.not_null,
      hasDefault: row.has_default,
    })),
    uniqueEventId: unique.rows[0]?.present === true,
    partitioned: unique.rows[0]?.partitioned === true,
    canInsert: head.can_insert === true,
    canCreateTemporary: head.can_temp,
    user: head.user,
  };
}

function sizeOf(typeName: string, modifier: number): number | undefined {
  if (modifier < 0) return undefined;
  // varchar and char keep the length plus a 4-byte header in atttypmod; timestamps their precision.
  return typeName === 'varchar' || typeName === 'bpchar' ? modifier - 4 : modifier;
}

/** Why the sink cannot write into a table of this shape; empty when it can. */
export function tableShapeProblems(shape: TableShape): string[] {
  const problems: string[] = [];
  const byName = new Map(shape.columns.map((c) => [c.name, c]));
  for (const spec of COLUMNS as readonly ColumnSpec[]) {
    if (spec.databaseDefault !== undefined) continue; // never written: created_at may be absent
    const column = byName.get(spec.name);
    if (!column) {
      // A column a later version added is written where present; prepare() or `llamonitor migrate` adds it.
      if (spec.since === '1.0.0')
        problems.push(`column ${spec.name} is missing (expected ${postgresType(spec)})`);
      continue;
    }
    const typeProblem = typeMismatch(spec, column);
    if (typeProblem) {
      problems.push(`column ${spec.name} has type ${column.declared}, expected ${typeProblem}`);
    }
    if (spec.nullable && column.notNull && !column.hasDefault) {
      problems.push(`column ${spec.name} is NOT NULL, but rows may leave it empty (drop the NOT NULL)`);
    }
  }
  const written = new Set(COLUMNS.map((c) => c.name as string));
  for (const column of shape.columns) {
    if (!written.has(column.name) && column.notNull && !column.hasDefault) {
      problems.push(`column ${column.name} is NOT NULL without a default, and the sink never fills it`);
    }
  }
  if (!shape.uniqueEventId && byName.has(PRIMARY_KEY)) {
    problems.push(
      `column ${PRIMARY_KEY} has no primary key or unique index, which storing each row once needs`,
    );
  }
  return problems;
}

/** The expected type when `column` cannot hold `spec`'s values unchanged, else undefined. */
function typeMismatch(spec: ColumnSpec, column: FoundColumn): string | undefined {
  const { typeName, size } = column;
  switch (spec.kind) {
    case 'uuid':
      // The Python MySQL table keeps uuids as CHAR(36): a copy of it in PostgreSQL works too.
      return typeName === 'uuid' || typeName === 'text' || (isCharacter(typeName) && fitsLength(size, 36))
        ? undefined
        : `${postgresType(spec)} (or CHAR(36), VARCHAR(36+), TEXT)`;
    case 'string':
    case 'text':
      return typeName === 'text' || (typeName === 'varchar' && fitsLength(size, spec.maxLength))
        ? undefined
        : `${postgresType(spec)} (or a longer VARCHAR, or TEXT)`;
    case 'timestamp':
      return (typeName === 'timestamptz' || typeName === 'timestamp') && (size === undefined || size >= 6)
        ? undefined
        : `${postgresType(spec)} (or TIMESTAMP) keeping microseconds`;
    case 'double':
      return ['float8', 'float4', 'numeric'].includes(typeName)
        ? undefined
        : `${postgresType(spec)} (or REAL, NUMERIC)`;
    case 'int32':
      return ['int4', 'int8', 'numeric'].includes(typeName)
        ? undefined
        : `${postgresType(spec)} (or BIGINT, NUMERIC)`;
    case 'int64':
      return ['int8', 'numeric'].includes(typeName) ? undefined : `${postgresType(spec)} (or NUMERIC)`;
    case 'json':
      return typeName === 'jsonb' || typeName === 'json' ? undefined : `${postgresType(spec)} (or JSON)`;
  }
}

function isCharacter(typeName: string): boolean {
  return typeName === 'bpchar' || typeName === 'varchar';
}

function fitsLength(size: number | undefined, needed: number | undefined): boolean {
  return size === undefined || needed === undefined || size >= needed;
}

/** Each written column's type as the table declares it, for a staging table that reads values alike. */
export function declaredTypes(shape: TableShape): Map<string, string> {
  return new Map(shape.columns.map((c) => [c.name, c.declared]));
}

/** The columns the sink writes into a table of this shape. */
export function writtenColumnsOf(shape: TableShape): WrittenColumns {
  const names = new Set(shape.columns.map((c) => c.name));
  return writtenColumns((name) => names.has(name));
}

/** The indexes of this version a table of this shape lacks, by name: those added after 1.0.0 only. */
export function missingIndexes(shape: TableShape, name: TableName): IndexSpec[] {
  const present = new Set(shape.indexNames);
  return INDEXES.filter(
    (index) => index.since !== '1.0.0' && !present.has(indexName(name.table, index.suffix)),
  );
}
