/**
 * Time partitions of a MySQL / MariaDB table (`partition: 'day' | 'month'`):
 * `PARTITION BY RANGE COLUMNS(timestamp)`, the primary key `(event_id,
 * timestamp)` (MySQL wants the partitioning column in every unique key; a
 * span's row always has the same timestamp), a partition per day (or month)
 * from today on and a last `pmax` partition up to MAXVALUE, so that no row is
 * ever refused. The writer keeps partitions ahead by splitting `pmax`
 * (REORGANIZE PARTITION: only pmax's rows, normally none, are moved); a row
 * older than the first partition's range goes into the first partition.
 * Retention drops whole partitions (ALTER TABLE ... DROP PARTITION: instant).
 */
import { diag } from '@opentelemetry/api';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { partitionStamp, rangesAhead, type PartitionUnit, type TimeRange } from '../time-partitions.js';
import { DDL_LOCK_WAIT_SECONDS, quoteIdentifier } from './ddl.js';
import { datetime } from './maintenance.js';

export const MAX_PARTITION = 'pmax';

/** `p20261205` (a day) or `p202612` (a month): partition names are the table's own. */
export function partitionName(unit: PartitionUnit, from: Date): string {
  return `p${partitionStamp(unit, from)}`;
}

function partitionDefinition(unit: PartitionUnit, range: TimeRange): string {
  return `PARTITION ${partitionName(unit, range.from)} VALUES LESS THAN ('${datetime(range.to)}')`;
}

/** The PARTITION BY clause of a new table: the ranges ahead, then pmax. */
export function partitionClause(unit: PartitionUnit, now: number): string {
  const parts = rangesAhead(unit, now).map((range) => partitionDefinition(unit, range));
  parts.push(`PARTITION ${MAX_PARTITION} VALUES LESS THAN (MAXVALUE)`);
  return ` PARTITION BY RANGE COLUMNS(\`timestamp\`) (\n  ${parts.join(',\n  ')}\n)`;
}

export interface Partition {
  readonly name: string;
  /** The end of its range (exclusive) in milliseconds; undefined for MAXVALUE. */
  readonly upperMillis: number | undefined;
}

/** The table's partitions in order; none for a table that is not partitioned. */
export async function partitionsOf(connection: PoolConnection, table: string): Promise<Partition[]> {
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT PARTITION_NAME AS name, PARTITION_DESCRIPTION AS description
       FROM information_schema.PARTITIONS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND PARTITION_NAME IS NOT NULL
      ORDER BY PARTITION_ORDINAL_POSITION`,
    [table],
  );
  return rows.map((row) => {
    const text = String(row.description).replace(/^'|'$/g, '');
    const millis = Date.parse(`${text.replace(' ', 'T')}Z`);
    return { name: String(row.name), upperMillis: Number.isNaN(millis) ? undefined : millis };
  });
}

/** The unit of a table's partitions, read from their names; undefined when none says. */
export function unitOfPartitions(partitions: readonly Partition[]): PartitionUnit | undefined {
  for (const { name } of partitions) {
    if (/^p\d{8}$/.test(name)) return 'day';
    if (/^p\d{6}$/.test(name)) return 'month';
  }
  return undefined;
}

/**
 * Splits pmax so that the ranges ahead have partitions of their own; returns
 * their names. A range that starts before the last bounded partition's end
 * is covered already (RANGE partitions have no gaps).
 */
export async function createPartitionsAhead(
  connection: PoolConnection,
  table: string,
  unit: PartitionUnit,
  now: number,
): Promise<string[]> {
  const partitions = await partitionsOf(connection, table);
  if (partitions.at(-1)?.name !== MAX_PARTITION) return [];
  const covered = Math.max(0, ...partitions.map((p) => p.upperMillis ?? 0));
  const missing = rangesAhead(unit, now).filter((range) => range.from.getTime() >= covered);
  if (missing.length === 0) return [];
  const parts = missing.map((range) => partitionDefinition(unit, range));
  await withLockWait(connection, () =>
    connection.query(
      `ALTER TABLE ${quoteIdentifier(table)} REORGANIZE PARTITION ${MAX_PARTITION} INTO (\n  ${parts.join(',\n  ')},\n  ` +
        `PARTITION ${MAX_PARTITION} VALUES LESS THAN (MAXVALUE))`,
    ),
  );
  return missing.map((range) => partitionName(unit, range.from));
}

/**
 * Drops the partitions whose whole range ends at or before `before` (their
 * rows counted first; the first partition also holds any older row). One
 * partition always stays: a table needs one.
 */
export async function dropPartitionsBefore(
  connection: PoolConnection,
  table: string,
  before: Date,
  dryRun: boolean,
): Promise<{ partitions: string[]; rows: number }> {
  const partitions = await partitionsOf(connection, table);
  const old = partitions
    .filter((p) => p.upperMillis !== undefined && p.upperMillis <= before.getTime())
    .slice(0, Math.max(0, partitions.length - 1));
  let rows = 0;
  for (const partition of old) {
    const [found] = await connection.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM ${quoteIdentifier(table)} PARTITION (${quoteIdentifier(partition.name)})`,
    );
    rows += Number(found[0]?.n ?? 0);
  }
  if (!dryRun && old.length > 0) {
    await withLockWait(connection, () =>
      connection.query(
        `ALTER TABLE ${quoteIdentifier(table)} DROP PARTITION ${old.map((p) => quoteIdentifier(p.name)).join(', ')}`,
      ),
    );
    diag.debug(`llamonitor mysql: dropped partitions ${old.map((p) => p.name).join(', ')} of ${table}`);
  }
  return { partitions: old.map((p) => p.name), rows };
}

/** A change of the table's definition that waits DDL_LOCK_WAIT_SECONDS at most for its lock; the pooled session's own wait restored after. */
async function withLockWait(connection: PoolConnection, change: () => Promise<unknown>): Promise<void> {
  await connection.query(`SET SESSION lock_wait_timeout = ${DDL_LOCK_WAIT_SECONDS}`);
  try {
    await change();
  } finally {
    await connection.query('SET SESSION lock_wait_timeout = DEFAULT');
  }
}
