/**
 * IGNORE skips rows already stored, which is how a batch written twice is
 * stored once; but it also turns data errors into warnings. This tells the two
 * apart: a write whose only warnings are duplicate keys is fine, any other
 * warning fails the write (its transaction is rolled back) rather than keep a
 * changed or lost value.
 */
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { RefusedDataError } from '../../errors.js';

const ER_DUP_ENTRY = 1062;
const WARNINGS_SHOWN = 3;

/** Counts from a LOAD DATA or multi-row INSERT result's info text, e.g. "Records: 4  Deleted: 0  Skipped: 1  Warnings: 2". */
export function recordsOf(info: string | undefined): number | undefined {
  const match = /Records:\s*(\d+)/.exec(info ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * Throws unless the server read every row sent and warned only about rows it
 * already had; resolves with the number of those (rows skipped).
 */
export async function checkWriteResult(
  connection: PoolConnection,
  header: ResultSetHeader,
  rowsSent: number,
  table: string,
): Promise<number> {
  const records = recordsOf(header.info);
  const warnings = header.warningStatus ?? 0;
  const skipped = rowsSent - header.affectedRows;
  const allRead = records === undefined || records === rowsSent;
  if (allRead && warnings === 0) return Math.max(0, skipped);
  const shown = warnings > 0 ? (await connection.query<RowDataPacket[]>('SHOW WARNINGS'))[0] : [];
  const others = shown.filter((w) => Number(w.Code) !== ER_DUP_ENTRY);
  if (allRead && warnings <= skipped && others.length === 0) return Math.max(0, skipped);
  const examples = others
    .slice(0, WARNINGS_SHOWN)
    .map((w) => `${String(w.Code)} ${String(w.Message)}`)
    .join('; ');
  const what = allRead
    ? `${warnings - skipped} warnings beyond duplicate rows`
    : `the server read ${records} of ${rowsSent} rows`;
  throw new RefusedDataError(
    `MySQL refused or would have changed values while writing to ${table} (${what}${examples ? `: ${examples}` : ''}); ` +
      'the batch was rolled back so that no value is stored changed',
  );
}
