/**
 * Rows read back by event id in the form they were written (the doctor's
 * probe), and deleted by event id: timestamps as ISO strings in UTC, int64 as
 * number or bigint, JSON columns as objects.
 */
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { INSERT_COLUMNS, type ColumnSpec, type MetricEvent } from '../../schema/columns.js';
import { quoteIdentifier } from './ddl.js';

function selectList(columns: readonly ColumnSpec[]): string {
  return columns
    .map((c) =>
      c.kind === 'timestamp'
        ? `DATE_FORMAT(${quoteIdentifier(c.name)}, '%Y-%m-%dT%H:%i:%s.%fZ') AS ${quoteIdentifier(c.name)}`
        : quoteIdentifier(c.name),
    )
    .join(', ');
}

function int64(value: unknown): number | bigint | null {
  if (value === null || value === undefined) return null;
  const big = BigInt(value as string);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** MySQL 8's JSON arrives parsed; MariaDB's (a LONGTEXT) may arrive as text. */
function json(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

export async function readRowsById(
  connection: PoolConnection,
  table: string,
  columns: readonly ColumnSpec[],
  eventIds: readonly string[],
): Promise<MetricEvent[]> {
  if (eventIds.length === 0) return [];
  // Columns the table lacks read as null, as a row of this version holds them.
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT ${selectList(columns)} FROM ${quoteIdentifier(table)} WHERE ${quoteIdentifier('event_id')} IN (?)`,
    [eventIds],
  );
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const column of INSERT_COLUMNS) {
      const value = row[column.name] as unknown;
      out[column.name] =
        value === null || value === undefined
          ? null
          : column.kind === 'int64'
            ? int64(value)
            : column.kind === 'json'
              ? json(value)
              : value;
    }
    return out as MetricEvent;
  });
}

export async function deleteRowsById(
  connection: PoolConnection,
  table: string,
  eventIds: readonly string[],
): Promise<void> {
  if (eventIds.length === 0) return;
  await connection.query(
    `DELETE FROM ${quoteIdentifier(table)} WHERE ${quoteIdentifier('event_id')} IN (?)`,
    [eventIds],
  );
}
