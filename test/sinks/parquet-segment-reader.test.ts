import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COLUMNS, type MetricEvent } from '../../src/schema/columns.js';
import { SegmentReader } from '../../src/sinks/parquet/segment-reader.js';
import { batchHeaderLine, encodeRowLine, segmentHeaderLine } from '../../src/sinks/parquet/wal-format.js';
import { sampleRows } from '../support/sample-rows.js';

const EVENT_ID = COLUMNS.findIndex((c) => c.name === 'event_id');
const CREATED_AT = '2026-03-01T10:00:00.000000Z';

let folder: string;
let path: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'llamonitor-reader-'));
  path = join(folder, 'segment.wal');
  writeFileSync(path, segmentHeaderLine(100_000));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

function appendBatch(rows: MetricEvent[]): number {
  appendFileSync(
    path,
    batchHeaderLine({ rows: rows.length, createdAt: CREATED_AT }) + rows.map(encodeRowLine).join(''),
  );
  return statSync(path).size;
}

const ids = (rows: readonly MetricEvent[]) => rows.map((row) => row.event_id);

describe('SegmentReader', () => {
  it('reads every row of complete batches, in order', () => {
    const first = sampleRows(30, { seed: 'a' });
    const second = sampleRows(20, { seed: 'b' });
    appendBatch(first);
    appendBatch(second);
    const contents = new SegmentReader(path).finish();
    expect(contents.rows).toBe(50);
    expect(contents.columns[EVENT_ID]).toEqual(ids([...first, ...second]));
    expect(contents.droppedBatches).toBe(0);
  });

  it('drops a batch cut short by a crash, whole, and keeps the batches before it', () => {
    const kept = sampleRows(10, { seed: 'kept' });
    appendBatch(kept);
    const torn = sampleRows(10, { seed: 'torn' });
    const text = batchHeaderLine({ rows: 10, createdAt: CREATED_AT }) + torn.map(encodeRowLine).join('');
    appendFileSync(path, text.slice(0, Math.floor(text.length * 0.6))); // several complete rows, then half a line
    const contents = new SegmentReader(path).finish();
    expect(contents.columns[EVENT_ID]).toEqual(ids(kept));
    expect(contents.droppedBatches).toBe(1);
  });

  it('reads the same rows when following the file in small steps that cut lines and characters', () => {
    const rows = sampleRows(40).map(
      (row, index) => ({ ...row, operation_name: `chat 🦙 ${index} 世界` }) as MetricEvent,
    );
    const size = appendBatch(rows);
    const reader = new SegmentReader(path);
    for (let offset = 0; offset < size; offset += 997) reader.readTo(offset);
    const followed = reader.finish();
    const once = new SegmentReader(path).finish();
    expect(followed.columns).toEqual(once.columns);
    expect(followed.columns[COLUMNS.findIndex((c) => c.name === 'operation_name')]).toEqual(
      rows.map((row) => row.operation_name),
    );
  });

  it('forgets rows it followed past the committed size of a closed segment (a failed append)', () => {
    const acknowledged = sampleRows(10, { seed: 'ok' });
    const committed = appendBatch(acknowledged);
    const failed = appendBatch(sampleRows(10, { seed: 'failed' }));
    const reader = new SegmentReader(path);
    reader.readTo(failed);
    const contents = reader.finish(committed);
    expect(contents.columns[EVENT_ID]).toEqual(ids(acknowledged));
    expect(contents.columns.every((values) => values.length === 10)).toBe(true);
  });

  it('drops only the batch that holds a damaged row', () => {
    const before = sampleRows(5, { seed: 'before' });
    const after = sampleRows(5, { seed: 'after' });
    appendBatch(before);
    appendFileSync(
      path,
      batchHeaderLine({ rows: 2, createdAt: CREATED_AT }) +
        '["not a row"]\t{}\n' +
        encodeRowLine(after[0] as MetricEvent),
    );
    appendBatch(after);
    const contents = new SegmentReader(path).finish();
    expect(contents.columns[EVENT_ID]).toEqual(ids([...before, ...after]));
    expect(contents.droppedBatches).toBe(1);
    expect(contents.problems.join()).toMatch(/damaged row/);
  });

  it('refuses a file whose first line is not a segment header', () => {
    writeFileSync(path, '{"hello":"world"}\n');
    expect(() => new SegmentReader(path).finish()).toThrow(/llamonitor-wal/);
  });

  it('finds no rows in a segment created but never written to', () => {
    expect(new SegmentReader(path).finish().rows).toBe(0);
  });
});
