/**
 * The path for a batch whose COPY hit a unique violation: rows stored before
 * (a retry, a replay, a span exported twice). The batch is copied into a
 * temporary table typed like the target, then inserted with
 * ON CONFLICT DO NOTHING (the table's unique event_id decides), all in one transaction.
 */
import type pg from 'pg';
import type { ColumnSpec, MetricEvent } from '../../schema/columns.js';
import { copyRows, type RowEncoder } from './copy-writer.js';
import {
  STAGING_TABLE,
  copyStatement,
  createStagingStatement,
  insertFromStagingStatement,
  type TableName,
} from './ddl.js';

/**
 * Writes `rows` into `name` (its `columns`, `encode`'s order), skipping those whose event_id is stored already
 * (or repeated within the batch). Resolves with the number of rows inserted.
 * On failure the transaction stays open: the caller discards the connection.
 */
export async function writeSkippingStored(
  client: pg.ClientBase,
  name: TableName,
  columnTypes: ReadonlyMap<string, string>,
  columns: readonly ColumnSpec[],
  rows: readonly MetricEvent[],
  encode: RowEncoder,
): Promise<number> {
  await client.query(`BEGIN; ${createStagingStatement(columnTypes, columns)}`);
  await copyRows(client, copyStatement(STAGING_TABLE, columns), rows, encode);
  const inserted = await client.query(insertFromStagingStatement(name, columns));
  await client.query('COMMIT');
  return inserted.rowCount ?? 0;
}
