import { describe, expect, it } from 'vitest';
import { COLUMNS, type MetricEvent } from '../../src/schema/columns.js';
import { isoMicrosToEpochMicros } from '../../src/schema/timestamps.js';
import {
  batchHeaderPayload,
  createRowDecoder,
  emptyColumnArrays,
  encodeRowLine,
  parseBatchHeader,
  parseBatchPayload,
  parseSegmentHeader,
  segmentHeaderPayload,
  WalFormatError,
} from '../../src/sinks/parquet/wal-format.js';
import {
  findFrame,
  FRAME_HEADER_BYTES,
  frameRecord,
  payloadIntact,
  readFrameHeader,
  RecordKind,
} from '../../src/sinks/parquet/wal-frames.js';
import { v1BatchHeaderLine, v1SegmentHeaderLine } from '../support/parquet-segments.js';
import { sampleRows } from '../support/sample-rows.js';

const column = (name: string) => COLUMNS.findIndex((c) => c.name === name);

function decode(rows: MetricEvent[], createdAt = 1_700_000_000_000_000n) {
  const columns = emptyColumnArrays();
  const decodeRow = createRowDecoder(parseSegmentHeader(segmentHeaderPayload(100_000)), columns);
  for (const line of rows.map(encodeRowLine)) decodeRow(line.slice(0, -1), createdAt);
  return columns;
}

describe('write-ahead log lines', () => {
  it('write each row as one line ending in a newline', () => {
    for (const line of sampleRows(5).map(encodeRowLine)) expect(line.indexOf('\n')).toBe(line.length - 1);
  });

  it('keep newlines and tabs inside values from breaking a line', () => {
    const [row] = sampleRows(1);
    const tricky = {
      ...row,
      error: 'line one\nline\ttwo\r\n',
      custom_attributes: { note: 'a\tb\nc' },
    } as MetricEvent;
    const columns = decode([tricky]);
    expect(columns[column('error')]).toEqual([tricky.error]);
    expect(JSON.parse((columns[column('custom_attributes')] as string[])[0] as string)).toEqual({
      note: 'a\tb\nc',
    });
  });

  it('bring every scalar back as it was written, timestamps as epoch microseconds', () => {
    const rows = sampleRows(50);
    const columns = decode(rows);
    for (const spec of COLUMNS) {
      if (spec.kind === 'json' || spec.name === 'created_at') continue;
      const expected = rows.map((row) => {
        const value = (row as Record<string, unknown>)[spec.name];
        if (value === null) return null;
        if (spec.kind === 'timestamp') return isoMicrosToEpochMicros(value as string);
        if (spec.kind === 'int64') return BigInt(value as number);
        return value;
      });
      expect(columns[column(spec.name)], spec.name).toEqual(expected);
    }
  });

  it('turn timestamps of any date into exact epoch microseconds', () => {
    const times = [
      '1969-12-31T23:59:59.999999Z',
      '1970-01-01T00:00:00.000000Z',
      '2024-02-29T12:34:56.000001Z',
      '2026-03-01T23:59:59.999999Z',
      '2026-03-02T00:00:00.000000Z',
      '9999-12-31T23:59:59.999999Z',
    ];
    const rows = sampleRows(times.length).map(
      (row, index) => ({ ...row, timestamp: times[index] }) as MetricEvent,
    );
    expect(decode(rows)[column('timestamp')]).toEqual(times.map(isoMicrosToEpochMicros));
  });

  it('keep an int64 beyond 2^53 exact', () => {
    const [row] = sampleRows(1);
    const huge = 2n ** 62n + 7n;
    const columns = decode([{ ...row, image_total_pixels: huge } as MetricEvent]);
    expect(columns[column('image_total_pixels')]).toEqual([huge]);
  });

  it('pass JSON columns through as the JSON text of the object', () => {
    const rows = sampleRows(3);
    const columns = decode(rows);
    const texts = columns[column('text_custom_metrics')] as string[];
    expect(texts.map((text) => JSON.parse(text) as unknown)).toEqual(
      rows.map((row) => row.text_custom_metrics),
    );
  });

  it('keep unicode intact, astral characters included', () => {
    const [row] = sampleRows(1);
    const text = 'héllo 🦙 世界 مرحبا e\u0301';
    const columns = decode([{ ...row, operation_name: text, custom_attributes: { text } } as MetricEvent]);
    expect(columns[column('operation_name')]).toEqual([text]);
    expect(JSON.parse((columns[column('custom_attributes')] as string[])[0] as string)).toEqual({ text });
  });

  it('fill created_at with the time of the batch', () => {
    const columns = decode(sampleRows(2), 1_767_323_045_123_456n);
    expect(columns[column('created_at')]).toEqual([1_767_323_045_123_456n, 1_767_323_045_123_456n]);
  });

  it('give null to a column that an older segment lacks', () => {
    const columns = emptyColumnArrays();
    const layout = parseSegmentHeader(segmentHeaderPayload(100_000));
    const older = {
      ...layout,
      jsonColumns: layout.jsonColumns.filter((name) => name !== 'image_custom_metrics'),
    };
    const [row] = sampleRows(1);
    const line = (
      encodeRowLine(row as MetricEvent)
        .trimEnd()
        .split('\t') as string[]
    )
      .filter((_, index) => index !== 1 + layout.jsonColumns.indexOf('image_custom_metrics'))
      .join('\t');
    createRowDecoder(older, columns)(line, 0n);
    expect(columns[column('image_custom_metrics')]).toEqual([null]);
    expect(columns.every((values) => values.length === 1)).toBe(true);
  });
});

describe('write-ahead log headers', () => {
  it('refuse a file that is not a segment', () => {
    expect(() => parseSegmentHeader('{"format":"something-else","version":1}')).toThrow(WalFormatError);
  });

  it('refuse a segment of a newer format version, saying what to do', () => {
    const newer = segmentHeaderPayload(100_000).replace('"version":2', '"version":3');
    expect(() => parseSegmentHeader(newer)).toThrow(/newer llamonitor-otel/);
  });

  it('read the header of a version 1 segment, as earlier releases wrote it', () => {
    const header = parseSegmentHeader(v1SegmentHeaderLine(2500).trimEnd());
    expect(header).toMatchObject({ version: 1, fileRows: 2500 });
  });

  it('carry the rows per file the segment was written for', () => {
    expect(parseSegmentHeader(segmentHeaderPayload(2500))).toMatchObject({ version: 2, fileRows: 2500 });
  });

  it('carry the time of a batch (version 2: its row count is in the frame)', () => {
    const createdAt = '2026-01-02T03:04:05.123456Z';
    expect(parseBatchPayload(batchHeaderPayload(createdAt))).toBe(createdAt);
  });

  it('read the row count and time of a version 1 batch header', () => {
    const createdAt = '2026-01-02T03:04:05.123456Z';
    expect(parseBatchHeader(v1BatchHeaderLine(12, createdAt))).toEqual({ rows: 12, createdAt });
  });
});

describe('write-ahead log frames', () => {
  const record = () =>
    frameRecord({ kind: RecordKind.rows, batch: 7, rows: 2 }, sampleRows(2).map(encodeRowLine).join(''));

  it('give back the kind, batch, row count and length they were written with', () => {
    const bytes = record();
    expect(readFrameHeader(bytes, 0)).toMatchObject({
      kind: RecordKind.rows,
      batch: 7,
      rows: 2,
      length: bytes.length - FRAME_HEADER_BYTES,
    });
  });

  it('tell a changed byte anywhere in the frame header', () => {
    const bytes = record();
    for (let at = 0; at < FRAME_HEADER_BYTES; at++) {
      const damaged = Buffer.from(bytes);
      damaged[at] = (damaged[at] as number) ^ 0x01;
      expect(readFrameHeader(damaged, 0), `byte ${at}`).toBeUndefined();
    }
  });

  it('tell a changed byte in the payload', () => {
    const damaged = record();
    damaged[FRAME_HEADER_BYTES + 40] = (damaged[FRAME_HEADER_BYTES + 40] as number) ^ 0x20;
    const header = readFrameHeader(damaged, 0);
    expect(header).toBeDefined();
    expect(payloadIntact(header!, damaged.subarray(FRAME_HEADER_BYTES))).toBe(false);
  });

  it('find the next intact frame after damaged bytes, passing over a marker whose header is broken', () => {
    const first = record();
    first[5] = 9; // a marker, and a header that does not hold
    const second = record();
    const bytes = Buffer.concat([Buffer.from('garbage'), first, second]);
    expect(findFrame(bytes, 0)).toBe(7 + first.length);
  });

  it('never hold the marker inside a payload: the first byte of it does not occur in UTF-8', () => {
    const text = Buffer.from(sampleRows(200).map(encodeRowLine).join('') + '🦙 世界 \u0000 \uffff');
    expect(text.includes(0xff)).toBe(false);
  });
});
