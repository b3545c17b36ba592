/**
 * Rows read back from a dataset's visible Parquet files by event id, and files
 * removed whole: what `llamonitor doctor` needs to write, check and take away its
 * probe row. Parquet files cannot lose single rows, so a file is removed only
 * when every row in it is one of those asked for.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { COLUMNS, INSERT_COLUMNS, type MetricEvent } from '../../schema/columns.js';
import { epochMicrosToIsoMicros } from '../../schema/timestamps.js';

const JSON_COLUMNS = COLUMNS.filter((c) => c.kind === 'json').map((c) => c.name);
const INT64_COLUMNS = COLUMNS.filter((c) => c.kind === 'int64').map((c) => c.name);

/** Paths of the Parquet files a reader of the dataset sees (not those under `_wal` or being written). */
async function visibleFiles(dataset: string): Promise<string[]> {
  const files: string[] = [];
  for (const partition of await readdir(dataset)) {
    if (!partition.startsWith('date=')) continue;
    for (const name of await readdir(join(dataset, partition))) {
      if (name.endsWith('.parquet') && !name.startsWith('.')) files.push(join(dataset, partition, name));
    }
  }
  return files.sort();
}

/** A row of any schema version in this version's form: columns a file of an earlier version lacks are null. */
function toEvent(row: Record<string, unknown>): MetricEvent {
  const event: Record<string, unknown> = {};
  for (const column of INSERT_COLUMNS) event[column.name] = row[column.name] ?? null;
  for (const name of JSON_COLUMNS) {
    const value = event[name];
    if (typeof value === 'string') event[name] = JSON.parse(value) as unknown;
  }
  for (const name of INT64_COLUMNS) {
    const value = event[name];
    if (typeof value === 'bigint' && Number.isSafeInteger(Number(value))) event[name] = Number(value);
  }
  return event as unknown as MetricEvent;
}

async function readFile(path: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({
    file: await asyncBufferFromFile(path),
    utf8: true,
    parsers: { timestampFromMicroseconds: (micros: bigint) => epochMicrosToIsoMicros(micros) },
  }) as Promise<Record<string, unknown>[]>;
}

export async function readRowsById(dataset: string, eventIds: readonly string[]): Promise<MetricEvent[]> {
  const wanted = new Set(eventIds);
  const found: MetricEvent[] = [];
  for (const path of await visibleFiles(dataset)) {
    for (const row of await readFile(path)) {
      if (wanted.has(row.event_id as string)) found.push(toEvent(row));
    }
  }
  return found;
}

export async function removeFilesOfRows(dataset: string, eventIds: readonly string[]): Promise<void> {
  const wanted = new Set(eventIds);
  for (const path of await visibleFiles(dataset)) {
    const rows = await readFile(path);
    const matching = rows.filter((row) => wanted.has(row.event_id as string)).length;
    if (matching === 0) continue;
    if (matching < rows.length) {
      throw new Error(
        `${path} holds other rows beside those to remove; Parquet files are removed whole, not row by row`,
      );
    }
    await unlink(path);
  }
}
