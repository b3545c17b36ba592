/**
 * What the PostgreSQL sink tests share: a schema of each run's own, and
 * reading rows back in the form they were written.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { INSERT_COLUMNS, type MetricEvent } from '../../src/schema/columns.js';
import type { Sink } from '../../src/sinks/sink.js';
import { POSTGRES_URL, uniqueName } from '../support/databases.js';

/** What useOwnSchema gives a test file: set in beforeAll. */
export interface OwnSchema {
  /** A connection as the server's superuser, for setting up and reading back. */
  admin: pg.Client;
  /** A schema of this run's own, dropped with all it holds after the file's tests. */
  schema: string;
  /** Sinks to close after the file's tests. */
  readonly sinks: Sink[];
}

/** Registers the hooks that open and remove an OwnSchema around a test file. */
export function useOwnSchema(): OwnSchema {
  const own: OwnSchema = { admin: undefined as unknown as pg.Client, schema: '', sinks: [] };
  beforeAll(async () => {
    own.admin = new pg.Client({ connectionString: POSTGRES_URL });
    await own.admin.connect();
    own.schema = uniqueName('llamonitor_pg');
    await own.admin.query(`CREATE SCHEMA ${own.schema}`);
  });
  afterAll(async () => {
    await Promise.all(own.sinks.map((sink) => sink.close()));
    if (own.schema) await own.admin.query(`DROP SCHEMA IF EXISTS ${own.schema} CASCADE`);
    await own.admin?.end();
  });
  return own;
}

/**
 * The table's rows as MetricEvents, ordered by timestamp then event_id:
 * timestamps as ISO strings in UTC (a TIMESTAMP column holds UTC wall time),
 * BIGINTs as numbers when safe, else bigints.
 */
export async function readRows(admin: pg.Client, tableSql: string): Promise<MetricEvent[]> {
  const found = await admin.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [tableSql],
  );
  const types = new Map(found.rows.map((row) => [row.name, row.type]));
  // Every column of the column table, in its form: one the table lacks reads as null.
  const select = INSERT_COLUMNS.map((column) => {
    const name = `"${column.name}"`;
    if (!types.has(column.name)) return `NULL AS ${name}`;
    switch (column.kind) {
      case 'timestamp': {
        const utc =
          types.get(column.name) === 'timestamp with time zone' ? `${name} AT TIME ZONE 'UTC'` : name;
        return `to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${name}`;
      }
      case 'uuid':
      case 'int64':
        return `${name}::text AS ${name}`;
      case 'double':
        return `${name}::float8 AS ${name}`;
      default:
        return name;
    }
  });
  const result = await admin.query(
    `SELECT ${select.join(', ')} FROM ${tableSql} ORDER BY "timestamp", event_id`,
  );
  return result.rows.map((row: Record<string, unknown>) => {
    for (const column of INSERT_COLUMNS)
      if (column.kind === 'int64') row[column.name] = int64(row[column.name]);
    return row;
  }) as MetricEvent[];
}

function int64(value: unknown): number | bigint | null {
  if (value === null) return null;
  const big = BigInt(value as string);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : big;
}

/** `rows` in the order readRows returns them. */
export function ordered(rows: readonly MetricEvent[]): MetricEvent[] {
  return [...rows].sort((a, b) =>
    a.timestamp === b.timestamp ? (a.event_id < b.event_id ? -1 : 1) : a.timestamp < b.timestamp ? -1 : 1,
  );
}

export async function countRows(admin: pg.Client, tableSql: string): Promise<number> {
  const result = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${tableSql}`);
  return Number(result.rows[0]?.n);
}
