/**
 * The path for a batch whose COPY hit a unique violation: rows stored before
 * (a retry, a replay, a span exported twice). The batch is copied into a
 * temporary table typed like the target, then inserted with
 * ON CONFLICT DO NOTHING (the table's unique event_id decides), all in one transaction.
 * A stored row of a span never ended is then replaced by the batch's real row
 * for it, where the role may UPDATE the table.
 */
import { diag } from '@opentelemetry/api';
import type pg from 'pg';
import type { ColumnSpec, MetricEvent } from '../../schema/columns.js';
import { copyRows, type RowEncoder } from './copy-writer.js';
import {
  STAGING_TABLE,
  copyStatement,
  createStagingStatement,
  insertFromStagingStatement,
  replaceUnendedStatement,
  type TableName,
} from './ddl.js';
import { UNENDED_ERROR_TYPE } from '../../schema/unended-calls.js';

/** SQLSTATE insufficient_privilege. */
const INSUFFICIENT_PRIVILEGE = '42501';
let toldMayNotUpdate = false;

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
  const inserted = (await client.query(insertFromStagingStatement(name, columns))).rowCount ?? 0;
  if (inserted < rows.length && rows.some((row) => row.error_type !== UNENDED_ERROR_TYPE)) {
    await replaceUnendedRows(client, name, columns);
  }
  await client.query('COMMIT');
  return inserted;
}

/**
 * The staged real rows replace stored rows of spans never ended. A role that
 * may only INSERT keeps the first row (its UPDATE is undone to a savepoint).
 */
async function replaceUnendedRows(
  client: pg.ClientBase,
  name: TableName,
  columns: readonly ColumnSpec[],
): Promise<void> {
  await client.query('SAVEPOINT llamonitor_replace_unended');
  try {
    const replaced = await client.query(replaceUnendedStatement(name, columns));
    await client.query('RELEASE SAVEPOINT llamonitor_replace_unended');
    if (replaced.rowCount) {
      diag.debug(`llamonitor: ${replaced.rowCount} rows of spans never ended replaced by their real rows`);
    }
  } catch (error) {
    if ((error as { code?: string } | null)?.code !== INSUFFICIENT_PRIVILEGE) throw error;
    await client.query('ROLLBACK TO SAVEPOINT llamonitor_replace_unended');
    if (!toldMayNotUpdate) {
      toldMayNotUpdate = true;
      diag.warn(
        `llamonitor: the role may not UPDATE ${name.sql}, so a span that ended after its row was written ` +
          `as never ended (error_type ${UNENDED_ERROR_TYPE}) keeps that row: grant UPDATE to replace it`,
      );
    }
  }
}
