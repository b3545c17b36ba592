/**
 * Reading rows back by event id, in the form they were written (the doctor's
 * probe): timestamps as ISO strings in UTC, whichever timestamp type the table has.
 */
import type pg from 'pg';
import { INSERT_COLUMNS, type ColumnSpec, type MetricEvent } from '../../schema/columns.js';
import type { TableName } from './ddl.js';

function selectList(columnTypes: ReadonlyMap<string, string>, columns: readonly ColumnSpec[]): string {
  return columns
    .map((c) => {
      const name = `"${c.name}"`;
      switch (c.kind) {
        case 'timestamp': {
          // A TIMESTAMP column (the Python table) holds UTC wall time; a TIMESTAMPTZ is read in UTC.
          const utc = columnTypes.get(c.name)?.startsWith('timestamp with time zone')
            ? `${name} AT TIME ZONE 'UTC'`
            : name;
          return `to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${name}`;
        }
        case 'uuid':
          return `${name}::text AS ${name}`;
        case 'double':
          return `${name}::float8 AS ${name}`;
        case 'int64':
          return `${name}::text AS ${name}`;
        default:
          return name;
      }
    })
    .join(', ');
}

function int64(value: unknown): number | bigint | null {
  if (value === null || value === undefined) return null;
  const big = BigInt(value as string);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : big;
}

export async function readRowsById(
  client: pg.ClientBase,
  table: TableName,
  columnTypes: ReadonlyMap<string, string>,
  columns: readonly ColumnSpec[],
  eventIds: readonly string[],
): Promise<MetricEvent[]> {
  const result = await client.query<Record<string, unknown>>(
    `SELECT ${selectList(columnTypes, columns)} FROM ${table.sql} WHERE event_id::text = ANY($1::text[])`,
    [eventIds],
  );
  // Columns the table lacks read as null, as a row of this version holds them.
  return result.rows.map((found) => {
    const row: Record<string, unknown> = {};
    for (const column of INSERT_COLUMNS) {
      const value = found[column.name] ?? null;
      row[column.name] = column.kind === 'int64' ? int64(value) : value;
    }
    return row as unknown as MetricEvent;
  });
}

export async function deleteRowsById(
  client: pg.ClientBase,
  table: TableName,
  eventIds: readonly string[],
): Promise<void> {
  await client.query(`DELETE FROM ${table.sql} WHERE event_id::text = ANY($1::text[])`, [eventIds]);
}
