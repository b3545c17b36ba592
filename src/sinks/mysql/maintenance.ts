/**
 * The maintenance of a MySQL or MariaDB table: re-pricing in batches keyed by
 * event_id, each batch's updates in one transaction, and pruning, under the
 * maintenance lease. (Its summaries are the read queries', call-reader.ts.)
 */
import { createHash } from 'node:crypto';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import {
  PRUNE_BATCH_ROWS,
  REPRICE_BATCH_ROWS,
  newTally,
  storedCostRow,
  tallied,
  type RepriceReport,
  type RepriceRequest,
} from '../maintenance.js';
import { quoteIdentifier } from './ddl.js';

const METRICS = 'text_custom_metrics';

/** `2026-12-04 10:00:00.000000`: the DATETIME(6) text of an instant, in UTC as the sink writes it. */
export function datetime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '000');
}

/** The maintenance lease: a named lock held by `connection` until released (GET_LOCK, at most 64 characters). */
export function maintenanceLockName(database: string, table: string): string {
  return `llamonitor-maint:${createHash('sha256').update(`${database}.${table}`).digest('hex').slice(0, 40)}`;
}

export async function tryMaintenanceLock(connection: PoolConnection, lock: string): Promise<boolean> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS locked', [lock]);
  return Number(rows[0]?.locked) === 1;
}

export async function releaseMaintenanceLock(connection: PoolConnection, lock: string): Promise<void> {
  await connection.query('SELECT RELEASE_LOCK(?)', [lock]);
}

/**
 * Re-prices the rows of a time range, REPRICE_BATCH_ROWS at a time in event_id
 * order (the primary key), each batch's changes in one transaction: a run
 * stopped half way leaves whole batches re-priced, and running it again goes
 * on from there (the rows done are found unchanged).
 */
export async function reprice(
  connection: PoolConnection,
  table: string,
  request: RepriceRequest,
): Promise<RepriceReport> {
  const name = quoteIdentifier(table);
  const tally = newTally();
  let after = '';
  for (;;) {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT event_id, DATE_FORMAT(\`timestamp\`, '%Y-%m-%dT%H:%i:%s.%fZ') AS \`timestamp\`, model, provider,
              input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
              cost_usd, ${METRICS}, custom_attributes
         FROM ${name}
        WHERE \`timestamp\` >= ? AND \`timestamp\` < ? AND event_id > ? AND (? IS NULL OR model = ?)
        ORDER BY event_id LIMIT ${REPRICE_BATCH_ROWS}`,
      [datetime(request.from), datetime(request.to), after, request.model ?? null, request.model ?? null],
    );
    if (rows.length === 0) break;
    const updates: [number | null, string | null, string][] = [];
    for (const found of rows) {
      const row = storedCostRow(found);
      const update = tallied(tally, request, row);
      if (update === undefined) continue;
      const metrics = update.text_custom_metrics === null ? null : JSON.stringify(update.text_custom_metrics);
      updates.push([update.cost_usd, metrics, row.event_id]);
    }
    if (updates.length > 0 && !request.dryRun) {
      await connection.query('START TRANSACTION');
      try {
        for (const values of updates) {
          await connection.query(
            `UPDATE ${name} SET cost_usd = ?, ${METRICS} = ? WHERE event_id = ?`,
            values,
          );
        }
        await connection.query('COMMIT');
      } catch (error) {
        await connection.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
    after = String(rows[rows.length - 1]!.event_id);
    if (rows.length < REPRICE_BATCH_ROWS) break;
  }
  return { ...tally, skipped: [] };
}

/** Rows older than `before` (`llamonitor prune --dry-run`). */
export async function countOlder(connection: PoolConnection, table: string, before: Date): Promise<number> {
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM ${quoteIdentifier(table)} WHERE \`timestamp\` < ?`,
    [datetime(before)],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Deletes up to PRUNE_BATCH_ROWS rows older than `before`, holding the
 * maintenance lease for the batch; 'busy' when another run holds it.
 *
 * The oldest rows' keys are found by a plain read, which locks nothing, and
 * only those rows are deleted, through the primary key (FORCE INDEX: the
 * multi-table form of DELETE is the one that takes index hints), at READ
 * COMMITTED. A DELETE of the range (`timestamp < ?`, ORDER BY, LIMIT) reads the
 * table through its primary key wherever old rows are a large share of it (a
 * small table, retention just turned on); at REPEATABLE READ any DELETE locks
 * the gaps beside the rows it reads, and the writers' inserts of new random
 * event ids fall into those gaps: the DELETE waited for their open
 * transactions, and the two deadlocked, the run lost for an hour or a write
 * failed. At READ COMMITTED it locks only the rows it deletes, no gap, so an
 * insert never waits for it. A server that logs statements (log_bin with
 * binlog_format=STATEMENT) refuses a change at READ COMMITTED: there the
 * DELETE runs at the session's level. A list of keys is safe for
 * statement-based replication either way.
 */
export async function deleteOlderBatch(
  connection: PoolConnection,
  table: string,
  lock: string,
  before: Date,
): Promise<number | 'busy'> {
  if (!(await tryMaintenanceLock(connection, lock))) return 'busy';
  try {
    const name = quoteIdentifier(table);
    const [oldest] = await connection.query<RowDataPacket[]>(
      `SELECT event_id FROM ${name} WHERE \`timestamp\` < ? ORDER BY \`timestamp\`, event_id LIMIT ${PRUNE_BATCH_ROWS}`,
      [datetime(before)],
    );
    if (oldest.length === 0) return 0;
    const [[logging]] = await connection.query<RowDataPacket[]>(
      "SELECT @@log_bin = 1 AND @@SESSION.binlog_format = 'STATEMENT' AS statements",
    );
    // The next transaction only: with autocommit, the DELETE.
    if (Number(logging?.['statements']) !== 1)
      await connection.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
    const [result] = await connection.query<ResultSetHeader>(
      `DELETE ${name} FROM ${name} FORCE INDEX (PRIMARY) WHERE event_id IN (?) AND \`timestamp\` < ?`,
      [oldest.map((row) => String(row.event_id)), datetime(before)],
    );
    return result.affectedRows;
  } finally {
    await releaseMaintenanceLock(connection, lock);
  }
}
