/**
 * A stored row of a span never ended (schema/unended-calls.ts) gives way to
 * the real row of the span, should it end after all. LOAD DATA and INSERT
 * IGNORE keep the row stored first, so after a write that skipped rows as
 * stored before, this looks those rows up and replaces the ones of spans never
 * ended, in the write's transaction. Rare (a retry, a replay, a late span),
 * so the common write pays nothing for it.
 */
import { diag } from '@opentelemetry/api';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { MetricEvent } from '../../schema/columns.js';
import { UNENDED_ERROR_TYPE } from '../../schema/unended-calls.js';
import { quoteIdentifier } from './ddl.js';
import type { InsertWriter } from './insert-writer.js';

const IDS_PER_QUERY = 1_000;
/** ER_TABLEACCESS_DENIED_ERROR: a user that may only INSERT. */
const TABLE_ACCESS_DENIED = 1142;
let toldMayNotReplace = false;

/** Replaces stored rows of spans never ended by `rows`' real rows of the same event_id; resolves with how many. */
export async function replaceUnended(
  connection: PoolConnection,
  rows: readonly MetricEvent[],
  insert: InsertWriter,
): Promise<number> {
  const real = new Map<string, MetricEvent>();
  for (const row of rows) if (row.error_type !== UNENDED_ERROR_TYPE) real.set(row.event_id, row);
  if (real.size === 0) return 0;
  const table = quoteIdentifier(insert.table);
  try {
    const replacing: MetricEvent[] = [];
    const ids = [...real.keys()];
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      const [stored] = await connection.query<RowDataPacket[]>(
        `SELECT event_id FROM ${table} WHERE error_type = ? AND event_id IN (?)`,
        [UNENDED_ERROR_TYPE, ids.slice(i, i + IDS_PER_QUERY)],
      );
      for (const { event_id } of stored) replacing.push(real.get(String(event_id))!);
    }
    if (replacing.length === 0) return 0;
    await connection.query(`DELETE FROM ${table} WHERE error_type = ? AND event_id IN (?)`, [
      UNENDED_ERROR_TYPE,
      replacing.map((row) => row.event_id),
    ]);
    await insert.write(connection, replacing);
    diag.debug(`llamonitor: ${replacing.length} rows of spans never ended replaced by their real rows`);
    return replacing.length;
  } catch (error) {
    if ((error as { errno?: number } | null)?.errno !== TABLE_ACCESS_DENIED) throw error;
    if (!toldMayNotReplace) {
      toldMayNotReplace = true;
      diag.warn(
        `llamonitor: the user may not SELECT and DELETE in ${table}, so a span that ended after its row was ` +
          `written as never ended (error_type ${UNENDED_ERROR_TYPE}) keeps that row: grant both to replace it`,
      );
    }
    return 0;
  }
}
