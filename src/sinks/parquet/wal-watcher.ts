/**
 * The live rows of a Parquet dataset (`/api/live`): every writer appends its
 * batches to a segment of the write-ahead log (`_wal/`) first, and a finished
 * Parquet file follows only every parquetFileAgeMillis (a minute by default).
 * The watcher follows each segment as it grows and sends the rows of each
 * batch read whole. A segment converted and removed takes its rows to a file
 * the API reads; the watcher forgets it.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { COLUMNS } from '../../schema/columns.js';
import { callRowOf, LIVE_MAX_ROWS, type CallRow, type RowWatcher } from '../call-queries.js';
import { parseSegmentFileName, walFolder } from './dataset-layout.js';
import { SegmentReader } from './segment-reader.js';

const COLUMN_INDEX = new Map(COLUMNS.map((column, index) => [column.name as string, index]));

interface Followed {
  readonly reader: SegmentReader;
  /** Rows of the segment already sent (or, for a segment found on the first look, passed over). */
  sent: number;
}

export class WalWatcher implements RowWatcher {
  private readonly followed = new Map<string, Followed>();
  private started = false;

  constructor(private readonly dataset: string) {}

  async poll(): Promise<CallRow[]> {
    const folder = walFolder(this.dataset);
    let names: string[];
    try {
      names = readdirSync(folder).filter((name) => parseSegmentFileName(name) !== undefined);
    } catch {
      names = [];
    }
    const fresh: CallRow[] = [];
    for (const name of names.sort()) {
      const path = join(folder, name);
      let size: number;
      try {
        size = statSync(path).size;
      } catch {
        continue; // converted and removed since the listing
      }
      let followed = this.followed.get(name);
      if (followed === undefined) {
        followed = { reader: new SegmentReader(path), sent: 0 };
        this.followed.set(name, followed);
      }
      try {
        followed.reader.readTo(size);
      } catch {
        continue; // removed while read: its rows are in a finished file now
      }
      const complete = followed.reader.completeRows;
      // The first look takes its bearings: rows written before it are the API's, not news.
      if (this.started) {
        const columns = followed.reader.columnArrays;
        for (let row = followed.sent; row < complete && fresh.length < LIVE_MAX_ROWS; row++) {
          fresh.push(rowOf(columns, row));
        }
      }
      followed.sent = complete;
    }
    for (const [name, { reader }] of this.followed) {
      if (!names.includes(name)) {
        reader.close();
        this.followed.delete(name);
      }
    }
    this.started = true;
    return fresh;
  }

  async close(): Promise<void> {
    for (const { reader } of this.followed.values()) reader.close();
    this.followed.clear();
  }
}

function rowOf(columns: readonly unknown[][], row: number): CallRow {
  const value = (name: string) => columns[COLUMN_INDEX.get(name)!]![row];
  const record: Record<string, unknown> = { timestamp_us: value('timestamp') };
  for (const column of COLUMNS) {
    if (column.name !== 'timestamp') record[column.name] = value(column.name);
  }
  const attributes = jsonObject(value('custom_attributes'));
  record.prompt = attributes?.prompt;
  record.completion = attributes?.completion;
  return callRowOf(record);
}

function jsonObject(value: unknown): Record<string, unknown> | undefined {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
}
