/**
 * The read side and the re-pricing of a MySQL or MariaDB table. MySQL 8 has
 * no PERCENTILE_CONT, so percentiles are nearest-rank, the same on both: the
 * smallest duration whose rank in its group is at least ceil(p × n), from
 * ROW_NUMBER() and COUNT() over the group. Re-pricing goes in batches keyed by
 * event_id, each batch's updates in one transaction.
 */
import { createHash } from 'node:crypto';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import {
  GROUP_COLUMNS,
  NO_GROUP,
  PRUNE_BATCH_ROWS,
  REPRICE_BATCH_ROWS,
  groupSummaryOf,
  newTally,
  storedCostRow,
  tallied,
  unpricedModelOf,
  type RepriceReport,
  type RepriceRequest,
  type Summary,
  type SummaryRequest,
} from '../maintenance.js';
import { quoteIdentifier } from './ddl.js';

const METRICS = 'text_custom_metrics';
/** A model call: a row naming a model that does not repeat another's call (isAggregateMetrics). */
const MODEL_CALL = `model IS NOT NULL
  AND NOT coalesce(JSON_CONTAINS_PATH(${METRICS}, 'one', '$.aggregate', '$.aggregate_input_tokens', '$.aggregate_output_tokens'), 0)`;
const UNPRICED = `(cost_usd IS NULL AND JSON_UNQUOTE(JSON_EXTRACT(${METRICS}, '$.cost_source')) = 'unknown_model')`;

/** `2026-12-04 10:00:00.000000`: the DATETIME(6) text of an instant, in UTC as the sink writes it. */
export function datetime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '000');
}

export async function summarize(
  connection: PoolConnection,
  table: string,
  request: SummaryRequest,
): Promise<Summary> {
  const name = quoteIdentifier(table);
  const group = `coalesce(CAST(${quoteIdentifier(GROUP_COLUMNS[request.by])} AS CHAR), '${NO_GROUP}')`;
  const where = `\`timestamp\` >= ? AND \`timestamp\` < ? AND ${MODEL_CALL}`;
  const range = [datetime(request.from), datetime(request.to)];
  const [groups] = await connection.query<RowDataPacket[]>(
    `SELECT grp, COUNT(*) AS calls, SUM(error IS NOT NULL) AS errors,
            coalesce(SUM(input_tokens), 0) AS input_tokens, coalesce(SUM(output_tokens), 0) AS output_tokens,
            coalesce(SUM(cache_read_tokens), 0) AS cache_read_tokens, SUM(cost_usd) AS cost_usd,
            SUM(unpriced) AS unpriced,
            MIN(CASE WHEN duration_ms IS NOT NULL AND rn >= CEIL(0.5 * n) THEN duration_ms END) AS p50,
            MIN(CASE WHEN duration_ms IS NOT NULL AND rn >= CEIL(0.95 * n) THEN duration_ms END) AS p95
       FROM (SELECT ${group} AS grp, error, input_tokens, output_tokens, cache_read_tokens, cost_usd, duration_ms,
                    ${UNPRICED} AS unpriced,
                    ROW_NUMBER() OVER (PARTITION BY ${group} ORDER BY duration_ms IS NULL, duration_ms) AS rn,
                    COUNT(duration_ms) OVER (PARTITION BY ${group}) AS n
               FROM ${name} WHERE ${where}) AS calls
      GROUP BY grp ORDER BY SUM(cost_usd) IS NULL, SUM(cost_usd) DESC, COUNT(*) DESC, grp`,
    range,
  );
  const [unpriced] = await connection.query<RowDataPacket[]>(
    `SELECT model, COUNT(*) AS calls FROM ${name} WHERE ${where} AND ${UNPRICED}
      GROUP BY model ORDER BY COUNT(*) DESC, model`,
    range,
  );
  return { groups: groups.map(groupSummaryOf), unpricedModels: unpriced.map(unpricedModelOf) };
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
 * maintenance lease for that one statement; 'busy' when another run holds
 * it. The timestamp index makes it a range scan of the oldest rows; the
 * order is total (event_id is the key), so the statement is safe for
 * statement-based replication.
 */
export async function deleteOlderBatch(
  connection: PoolConnection,
  table: string,
  lock: string,
  before: Date,
): Promise<number | 'busy'> {
  if (!(await tryMaintenanceLock(connection, lock))) return 'busy';
  try {
    const [result] = await connection.query<ResultSetHeader>(
      `DELETE FROM ${quoteIdentifier(table)} WHERE \`timestamp\` < ? ORDER BY \`timestamp\`, event_id LIMIT ${PRUNE_BATCH_ROWS}`,
      [datetime(before)],
    );
    return result.affectedRows;
  } finally {
    await releaseMaintenanceLock(connection, lock);
  }
}
