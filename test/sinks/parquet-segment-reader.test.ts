import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COLUMNS, type MetricEvent } from '../../src/schema/columns.js';
import { SegmentReader } from '../../src/sinks/parquet/segment-reader.js';
import { segmentHeaderPayload } from '../../src/sinks/parquet/wal-format.js';
import { FRAME_HEADER_BYTES, frameRecord, RecordKind } from '../../src/sinks/parquet/wal-frames.js';
import {
  batchRecords,
  segmentHeader,
  v1BatchHeaderLine,
  v1RowLine,
  v1SegmentOf,
} from '../support/parquet-segments.js';
import { sampleRows } from '../support/sample-rows.js';

const EVENT_ID = COLUMNS.findIndex((c) => c.name === 'event_id');
const FIXTURE_V1 = new URL('./fixtures/parquet-segment-v1.wal', import.meta.url);

let folder: string;
let path: string;
let batches: number;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'llamonitor-reader-'));
  path = join(folder, 'segment.wal');
  writeFileSync(path, segmentHeader());
  batches = 0;
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

/** Appends a batch as the writer does; returns the file's size after it. */
function appendBatch(rows: readonly MetricEvent[], rowsPerRecord?: number): number {
  appendFileSync(path, batchRecords(++batches, rows, rowsPerRecord ? { rowsPerRecord } : {}));
  return statSync(path).size;
}

/** Flips one bit of the byte at `offset`. */
function damage(offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = (bytes[offset] as number) ^ 0x04;
  writeFileSync(path, bytes);
}

const ids = (rows: readonly MetricEvent[]) => rows.map((row) => row.event_id);

describe('SegmentReader', () => {
  it('reads every row of complete batches, in order', () => {
    const first = sampleRows(30, { seed: 'a' });
    const second = sampleRows(20, { seed: 'b' });
    appendBatch(first);
    appendBatch(second, 7);
    const contents = new SegmentReader(path).finish();
    expect(contents.rows).toBe(50);
    expect(contents.columns[EVENT_ID]).toEqual(ids([...first, ...second]));
    expect(contents).toMatchObject({ version: 2, droppedBatches: 0, lostRows: 0, losses: [] });
  });

  it('drops a batch cut short by a crash, whole, keeps the batches before it, and calls it no damage', () => {
    const kept = sampleRows(10, { seed: 'kept' });
    appendBatch(kept);
    const torn = batchRecords(2, sampleRows(10, { seed: 'torn' }), { rowsPerRecord: 3 });
    appendFileSync(path, torn.subarray(0, Math.floor(torn.length * 0.6))); // whole records, then half of one
    const contents = new SegmentReader(path).finish();
    expect(contents.columns[EVENT_ID]).toEqual(ids(kept));
    expect(contents).toMatchObject({ droppedBatches: 1, lostRows: 0, losses: [] });
  });

  it('reads the same rows when following the file in small steps that cut records and characters', () => {
    const rows = sampleRows(40).map(
      (row, index) => ({ ...row, operation_name: `chat 🦙 ${index} 世界` }) as MetricEvent,
    );
    const size = appendBatch(rows, 6);
    const reader = new SegmentReader(path);
    for (let offset = 0; offset < size; offset += 97) reader.readTo(offset);
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

  it('finds no rows in a segment created but never written to', () => {
    expect(new SegmentReader(path).finish()).toMatchObject({ rows: 0, losses: [] });
  });

  it('refuses a segment of a format version newer than it reads, saying what to do', () => {
    const newer = segmentHeaderPayload(100_000).replace('"version":2', '"version":3');
    writeFileSync(path, frameRecord({ kind: RecordKind.segment, batch: 0, rows: 0 }, newer));
    expect(() => new SegmentReader(path).finish()).toThrow(/newer llamonitor-otel/);
  });
});

describe('SegmentReader, on a damaged segment', () => {
  const first = sampleRows(100, { seed: 'first' });
  const second = sampleRows(100, { seed: 'second' });
  const third = sampleRows(100, { seed: 'third' });

  /** Three batches of 100 rows; returns the offset of the second batch's header record. */
  function threeBatches(rowsPerRecord?: number): number {
    appendBatch(first, rowsPerRecord);
    const secondAt = statSync(path).size;
    appendBatch(second, rowsPerRecord);
    appendBatch(third, rowsPerRecord);
    return secondAt;
  }

  it.each([
    ['its frame header (the row count)', 12],
    ['its frame marker', 1],
    ['its payload (the time)', FRAME_HEADER_BYTES + 5],
  ])('loses only the second batch when one byte of its header changed: %s', (_, within) => {
    damage(threeBatches() + within);
    const contents = new SegmentReader(path).finish();
    expect(contents.columns[EVENT_ID]).toEqual(ids([...first, ...third]));
    expect(contents.lostRows).toBe(100);
    expect(contents.losses.length).toBeGreaterThan(0);
  });

  it('counts no lost row for a newline byte inside a damaged frame header (its checksums are binary)', () => {
    const secondAt = threeBatches();
    const bytes = readFileSync(path);
    // The payload checksum made 0x0A, as a checksum may be by chance: the frame header no longer holds.
    bytes[secondAt + 20] = bytes[secondAt + 20] === 0x0a ? 0x0b : 0x0a;
    bytes[secondAt + 21] = 0x0a;
    writeFileSync(path, bytes);
    const contents = new SegmentReader(path).finish();
    expect(contents.columns[EVENT_ID]).toEqual(ids([...first, ...third]));
    expect(contents.lostRows).toBe(100);
  });

  it('loses only the batch of one damaged row, and reads on', () => {
    const secondAt = threeBatches();
    const rowsRecordAt =
      secondAt + FRAME_HEADER_BYTES + Buffer.byteLength('{"createdAt":"2026-03-01T10:00:00.000000Z"}');
    damage(rowsRecordAt + FRAME_HEADER_BYTES + 500);
    const contents = new SegmentReader(path).finish();
    expect(contents.columns[EVENT_ID]).toEqual(ids([...first, ...third]));
    expect(contents).toMatchObject({ lostRows: 100, droppedBatches: 1 });
    expect(contents.problems.join('\n')).toMatch(/damaged/);
  });

  it('loses only the batch whose middle record lost its frame header, when a batch spans records', () => {
    const secondAt = threeBatches(30);
    const batchHeaderBytes =
      FRAME_HEADER_BYTES + Buffer.byteLength('{"createdAt":"2026-03-01T10:00:00.000000Z"}');
    const secondRecordAt =
      secondAt + batchHeaderBytes + batchRecords(2, second.slice(0, 30)).length - batchHeaderBytes;
    damage(secondRecordAt + 16); // the length field: the frame no longer says where it ends
    const contents = new SegmentReader(path).finish();
    expect(contents.columns[EVENT_ID]).toEqual(ids([...first, ...third]));
    expect(contents.lostRows).toBe(100);
  });

  it('counts the rows of damage that reaches the end of the file as lost', () => {
    appendBatch(first);
    const lastAt = statSync(path).size;
    appendBatch(second);
    damage(lastAt + 2);
    damage(statSync(path).size - 3);
    const contents = new SegmentReader(path).finish();
    expect(contents.columns[EVENT_ID]).toEqual(ids(first));
    expect(contents.lostRows).toBe(100);
  });
});

describe('SegmentReader, on a version 1 segment (earlier releases)', () => {
  it('reads the segment that the release before frames wrote (a kept fixture)', () => {
    copyFileSync(FIXTURE_V1, path);
    const contents = new SegmentReader(path).finish();
    expect(contents).toMatchObject({ version: 1, rows: 12, fileRows: 100_000, lostRows: 0, losses: [] });
    expect((contents.columns[EVENT_ID] as string[]).slice(0, 2)).toEqual([
      '65c0c098-9c9d-501c-aedf-0277d66da6f6',
      '4260463e-1fff-5ce4-ad4e-91e9cafd7596',
    ]);
    expect((contents.columns[EVENT_ID] as string[]).at(-1)).toBe('5eb7e92a-e8ba-5fc3-a26c-8c54586b74b4');
  });

  it('drops only the batch that holds a damaged row', () => {
    const before = sampleRows(5, { seed: 'before' });
    const after = sampleRows(5, { seed: 'after' });
    writeFileSync(
      path,
      v1SegmentOf([before]) +
        v1BatchHeaderLine(2) +
        '["not a row"]\t{}\n' +
        v1RowLine(after[0] as MetricEvent) +
        v1BatchHeaderLine(5) +
        after.map(v1RowLine).join(''),
    );
    const contents = new SegmentReader(path).finish();
    expect(contents.columns[EVENT_ID]).toEqual(ids([...before, ...after]));
    expect(contents).toMatchObject({ droppedBatches: 1, lostRows: 2 });
  });

  it('reads on after a batch header that cannot be read, losing only that batch', () => {
    const batchesV1 = [
      sampleRows(4, { seed: 'x' }),
      sampleRows(3, { seed: 'y' }),
      sampleRows(5, { seed: 'z' }),
    ];
    const text = v1SegmentOf(batchesV1).replace('{"batch":3,', '{"batch":3;');
    writeFileSync(path, text);
    const contents = new SegmentReader(path).finish();
    expect(contents.columns[EVENT_ID]).toEqual(ids([...(batchesV1[0] ?? []), ...(batchesV1[2] ?? [])]));
    expect(contents.lostRows).toBe(3);
  });

  it('refuses a file whose first line is not a segment header', () => {
    writeFileSync(path, '{"hello":"world"}\n');
    expect(() => new SegmentReader(path).finish()).toThrow(/llamonitor-wal/);
  });
});
