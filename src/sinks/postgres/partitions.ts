/**
 * Time partitions of a PostgreSQL table (`partition: 'day' | 'month'`):
 * declarative range partitioning on `timestamp`, created by the package with
 * the table. The primary key becomes `(event_id, timestamp)`, since PostgreSQL
 * wants the partition key in every unique key; a span's row always has the
 * same timestamp (the span's start), so each span is still stored once. A
 * default partition takes any row no partition covers, so no row is ever
 * refused; the writer keeps partitions for today and the next 7 days (this
 * month and the next) created ahead. COPY and the conflict path (`ON CONFLICT
 * DO NOTHING`, no target) work on the parent unchanged; each index declared on
 * the parent exists on every partition. Retention drops whole partitions.
 */
import { diag } from '@opentelemetry/api';
import type pg from 'pg';
import { COLUMNS, PRIMARY_KEY, type ColumnSpec } from '../../schema/columns.js';
import { postgresType } from './column-types.js';
import { DDL_LOCK_TIMEOUT, nameAfterTable, quote, type TableName } from './ddl.js';
import { sqlState } from './errors.js';
import { partitionStamp, rangesAhead, type PartitionUnit, type TimeRange } from '../time-partitions.js';

export type { PartitionUnit };

/** The partitioned table: the columns, the primary key `(event_id, timestamp)`, ranges of `timestamp`. */
export function createPartitionedTableStatement(name: TableName): string {
  const columns = COLUMNS.map((c: ColumnSpec) => {
    const parts = [quote(c.name), postgresType(c)];
    if (!c.nullable || c.name === PRIMARY_KEY) parts.push('NOT NULL');
    if (c.databaseDefault !== undefined) parts.push(`DEFAULT ${c.databaseDefault}`);
    return `  ${parts.join(' ')}`;
  });
  return (
    `CREATE TABLE IF NOT EXISTS ${name.sql} (\n${columns.join(',\n')},\n` +
    `  PRIMARY KEY (${quote(PRIMARY_KEY)}, "timestamp")\n) PARTITION BY RANGE ("timestamp")`
  );
}

export function createDefaultPartitionStatement(name: TableName): string {
  return `CREATE TABLE IF NOT EXISTS ${partitionSql(name, `${name.table}_default`)} PARTITION OF ${name.sql} DEFAULT`;
}

/**
 * `<table>_p20261205` (a day) or `<table>_p202612` (a month); a long table
 * name is shortened and a hash of it keeps two tables' partitions apart.
 */
export function partitionName(table: string, unit: PartitionUnit, from: Date): string {
  return nameAfterTable(table, `p${partitionStamp(unit, from)}`);
}

export function createPartitionStatement(name: TableName, unit: PartitionUnit, range: TimeRange): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${partitionSql(name, partitionName(name.table, unit, range.from))} ` +
    `PARTITION OF ${name.sql} FOR VALUES FROM ('${range.from.toISOString()}') TO ('${range.to.toISOString()}')`
  );
}

/** A partition in the table's schema. */
function partitionSql(name: TableName, partition: string): string {
  return name.schema === undefined ? quote(partition) : `${quote(name.schema)}.${quote(partition)}`;
}

/**
 * Creates the partitions ahead that are missing, one at a time, each in its
 * own short transaction with a lock timeout (creating a partition locks the
 * parent). A range another partition covers, or whose rows already sit in the
 * default partition, is left as it is: those rows stay where they are, and
 * later ones go on to the default partition. Returns the partitions created.
 */
export async function createPartitionsAhead(
  client: pg.ClientBase,
  name: TableName,
  unit: PartitionUnit,
  now: number,
): Promise<string[]> {
  const existing = new Set((await partitionsOf(client, name)).map((p) => p.name));
  const created: string[] = [];
  for (const range of rangesAhead(unit, now)) {
    const partition = partitionName(name.table, unit, range.from);
    if (existing.has(partition)) continue;
    await client.query('BEGIN');
    try {
      await client.query(`SET LOCAL lock_timeout = '${DDL_LOCK_TIMEOUT}'`);
      await client.query(createPartitionStatement(name, unit, range));
      await client.query('COMMIT');
      created.push(partition);
    } catch (error) {
      await client.query('ROLLBACK');
      // 23514: the default partition holds rows of the range; 42P17: another partition overlaps it;
      // 42P07 / 23505: another writer created it meanwhile; 55P03: the lock did not come in time.
      if (!['23514', '42P17', '42P07', '23505', '55P03'].includes(sqlState(error) ?? '')) throw error;
      diag.debug(
        `llamonitor: partition ${partition} of ${name.sql} not created: ${(error as Error).message}`,
      );
    }
  }
  return created;
}

export interface Partition {
  readonly name: string;
  readonly isDefault: boolean;
  /** The end of its range (exclusive), in milliseconds; undefined for the default partition or MAXVALUE. */
  readonly upperMillis: number | undefined;
}

/** The partitions of the table, with the end of each one's range as PostgreSQL parses it. */
export async function partitionsOf(client: pg.ClientBase, name: TableName): Promise<Partition[]> {
  const result = await client.query<{ name: string; is_default: boolean; upper_epoch: string | null }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default,
            extract(epoch FROM (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz) AS upper_epoch
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass($1)
      ORDER BY 3 NULLS LAST, 1`,
    [name.sql],
  );
  return result.rows.map((row) => ({
    name: row.name,
    isDefault: row.is_default,
    upperMillis: row.upper_epoch === null ? undefined : Number(row.upper_epoch) * 1000,
  }));
}

/** The unit of a table's partitions, read from their names (`_pYYYYMMDD`, `_pYYYYMM`); undefined when none says. */
export function unitOfPartitions(partitions: readonly Partition[]): PartitionUnit | undefined {
  for (const { name } of partitions) {
    if (/_p\d{8}$/.test(name)) return 'day';
    if (/_p\d{6}$/.test(name)) return 'month';
  }
  return undefined;
}

/**
 * Drops the partitions whose whole range is before `before` (counting their
 * rows first), each with a lock timeout: dropping one locks the parent for a
 * moment. One whose lock does not come in time is left, and the batched
 * delete that follows removes its rows instead.
 */
export async function dropPartitionsBefore(
  client: pg.ClientBase,
  name: TableName,
  before: Date,
  dryRun: boolean,
): Promise<{ partitions: string[]; rows: number }> {
  const dropped: string[] = [];
  let rows = 0;
  for (const partition of await partitionsOf(client, name)) {
    if (partition.isDefault || partition.upperMillis === undefined) continue;
    if (partition.upperMillis > before.getTime()) continue;
    const sql = partitionSql(name, partition.name);
    const count = Number(
      (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`)).rows[0]?.n ?? 0,
    );
    if (!dryRun) {
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL lock_timeout = '${DDL_LOCK_TIMEOUT}'`);
        await client.query(`DROP TABLE ${sql}`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        if (sqlState(error) !== '55P03') throw error;
        diag.debug(`llamonitor: partition ${partition.name} not dropped in time; its rows go by batches`);
        continue;
      }
    }
    dropped.push(partition.name);
    rows += count;
  }
  return { partitions: dropped, rows };
}
