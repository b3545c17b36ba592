/**
 * The maintenance of a PostgreSQL table: re-pricing in batches of rows keyed
 * by event_id, each batch one UPDATE, and pruning, under the maintenance lease.
 * (Its summaries are the read queries', call-reader.ts.)
 */
import type pg from 'pg';
import {
  PRUNE_BATCH_ROWS,
  REPRICE_BATCH_ROWS,
  newTally,
  storedCostRow,
  tallied,
  type RepriceReport,
  type RepriceRequest,
} from '../maintenance.js';
import type { TableName } from './ddl.js';

/** The maintenance lease: a session advisory lock on the table's name, held by `client` until released. */
export async function tryMaintenanceLock(client: pg.ClientBase, table: TableName): Promise<boolean> {
  const result = await client.query<{ locked: boolean }>(
    `SELECT pg_try_advisory_lock(hashtext($1)) AS locked`,
    [`llamonitor-maintenance ${table.sql}`],
  );
  return result.rows[0]?.locked === true;
}

export async function releaseMaintenanceLock(client: pg.ClientBase, table: TableName): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`llamonitor-maintenance ${table.sql}`]);
}

/**
 * Re-prices the rows of a time range, REPRICE_BATCH_ROWS at a time in event_id
 * order (the primary key), each batch's changes in one UPDATE. A run stopped
 * half way leaves every batch it finished re-priced; running it again finds
 * those unchanged and goes on: resumable and idempotent.
 */
export async function reprice(
  client: pg.ClientBase,
  table: TableName,
  request: RepriceRequest,
): Promise<RepriceReport> {
  const tally = newTally();
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await client.query<Record<string, unknown>>(
      `SELECT event_id::text AS event_id, to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "timestamp",
              model, provider, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
              reasoning_tokens, cost_usd, text_custom_metrics, custom_attributes
         FROM ${table.sql}
        WHERE timestamp >= $1 AND timestamp < $2 AND event_id > $3::uuid AND ($4::text IS NULL OR model = $4)
        ORDER BY event_id LIMIT ${REPRICE_BATCH_ROWS}`,
      [request.from.toISOString(), request.to.toISOString(), after, request.model ?? null],
    );
    if (batch.rows.length === 0) break;
    const ids: string[] = [];
    const costs: (number | null)[] = [];
    const metrics: (string | null)[] = [];
    for (const found of batch.rows) {
      const row = storedCostRow(found);
      const update = tallied(tally, request, row);
      if (update === undefined) continue;
      ids.push(row.event_id);
      costs.push(update.cost_usd);
      metrics.push(update.text_custom_metrics === null ? null : JSON.stringify(update.text_custom_metrics));
    }
    if (ids.length > 0 && !request.dryRun) {
      await client.query(
        `UPDATE ${table.sql} AS t SET cost_usd = v.cost, text_custom_metrics = v.metrics::jsonb
           FROM unnest($1::uuid[], $2::float8[], $3::text[]) AS v(id, cost, metrics)
          WHERE t.event_id = v.id`,
        [ids, costs, metrics],
      );
    }
    after = String(batch.rows[batch.rows.length - 1]!.event_id);
    if (batch.rows.length < REPRICE_BATCH_ROWS) break;
  }
  return { ...tally, skipped: [] };
}

/** Rows older than `before` (`llamonitor prune --dry-run`). */
export async function countOlder(client: pg.ClientBase, table: TableName, before: Date): Promise<number> {
  const result = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${table.sql} WHERE timestamp < $1`,
    [before.toISOString()],
  );
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * Deletes up to PRUNE_BATCH_ROWS rows older than `before`, holding the
 * maintenance lease for that one statement; 'busy' when another run holds it.
 * The oldest rows are found through the timestamp index; SKIP LOCKED passes
 * over a row a writer is re-writing at that moment (the next run takes it).
 */
export async function deleteOlderBatch(
  client: pg.ClientBase,
  table: TableName,
  before: Date,
): Promise<number | 'busy'> {
  if (!(await tryMaintenanceLock(client, table))) return 'busy';
  try {
    const result = await client.query(
      `DELETE FROM ${table.sql} WHERE event_id IN (
         SELECT event_id FROM ${table.sql} WHERE timestamp < $1
          ORDER BY timestamp LIMIT ${PRUNE_BATCH_ROWS} FOR UPDATE SKIP LOCKED)`,
      [before.toISOString()],
    );
    return result.rowCount ?? 0;
  } finally {
    await releaseMaintenanceLock(client, table);
  }
}
