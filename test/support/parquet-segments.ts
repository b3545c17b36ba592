/**
 * Write-ahead log segments built by hand, for tests that need one as a given
 * process would have left it: in this release's format (version 2: framed
 * records), or in the format of earlier releases (version 1: unframed lines,
 * copied here as it was, so that a change to the package's code cannot change
 * what "an old segment" means).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { MetricEvent } from '../../src/schema/columns.js';
import { compactTime, segmentFileName, type Owner } from '../../src/sinks/parquet/dataset-layout.js';
import { hostLabel } from '../../src/sinks/process-owner.js';
import {
  batchHeaderPayload,
  encodeRowLine,
  segmentHeaderPayload,
} from '../../src/sinks/parquet/wal-format.js';
import { frameRecord, RecordKind } from '../../src/sinks/parquet/wal-frames.js';

export const CREATED_AT = '2026-03-01T10:00:00.000000Z';

/** The first record of a version 2 segment. */
export function segmentHeader(fileRows = 100_000): Buffer {
  return frameRecord({ kind: RecordKind.segment, batch: 0, rows: 0 }, segmentHeaderPayload(fileRows));
}

/** A batch as the writer appends it: its header record, then its rows in records of `rowsPerRecord`. */
export function batchRecords(
  number: number,
  rows: readonly MetricEvent[],
  options: { createdAt?: string; rowsPerRecord?: number } = {},
): Buffer {
  const records = [
    frameRecord(
      { kind: RecordKind.batch, batch: number, rows: rows.length },
      batchHeaderPayload(options.createdAt ?? CREATED_AT),
    ),
  ];
  const step = options.rowsPerRecord ?? 1000;
  for (let start = 0; start < rows.length; start += step) {
    const slice = rows.slice(start, start + step);
    records.push(
      frameRecord(
        { kind: RecordKind.rows, batch: number, rows: slice.length },
        slice.map(encodeRowLine).join(''),
      ),
    );
  }
  return Buffer.concat(records);
}

/** A whole version 2 segment of these batches. */
export function segmentOf(batches: readonly (readonly MetricEvent[])[], fileRows = 100_000): Buffer {
  return Buffer.concat([
    segmentHeader(fileRows),
    ...batches.map((rows, index) => batchRecords(index + 1, rows)),
  ]);
}

const V1_SCALARS = [
  'event_id', 'schema_version', 'session_id', 'trace_id', 'span_id', 'parent_span_id', 'operation_name',
  'operation_type', 'timestamp', 'duration_ms', 'text_char_count', 'text_word_count', 'text_byte_size',
  'text_line_count', 'image_count', 'image_total_pixels', 'image_file_size_bytes', 'image_width',
  'image_height', 'image_format', 'error', 'error_type',
]; // prettier-ignore
const V1_JSON = ['text_custom_metrics', 'image_custom_metrics', 'custom_attributes'];

/** Version 1: the header line, as releases before frames wrote it. */
export function v1SegmentHeaderLine(fileRows: number): string {
  return `${JSON.stringify({ format: 'llamonitor-wal', version: 1, fileRows, scalarColumns: V1_SCALARS, jsonColumns: V1_JSON })}\n`;
}

/** Version 1: a batch header line. */
export function v1BatchHeaderLine(rows: number, createdAt = CREATED_AT): string {
  return `${JSON.stringify({ batch: rows, createdAt })}\n`;
}

/** Version 1: a row line, in the columns of that release. */
export function v1RowLine(row: MetricEvent): string {
  const values = row as unknown as Record<string, unknown>;
  const scalars = V1_SCALARS.map((name) => {
    const value = values[name];
    return typeof value === 'bigint' ? value.toString() : (value ?? null);
  });
  return `${[JSON.stringify(scalars), ...V1_JSON.map((name) => JSON.stringify(values[name] ?? null))].join('\t')}\n`;
}

/** A whole version 1 segment of these batches. */
export function v1SegmentOf(batches: readonly (readonly MetricEvent[])[], fileRows = 100_000): string {
  return (
    v1SegmentHeaderLine(fileRows) +
    batches.map((rows) => v1BatchHeaderLine(rows.length) + rows.map(v1RowLine).join('')).join('')
  );
}

/** An owner whose process has ended: a pid that a short-lived child had. */
export function endedOwner(token = 'f00dfeed'): Owner {
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return { host: hostLabel(hostname()), pid: Number(gone.stdout.toString()), token };
}

/** Puts `content` in `<folder>/metric_events/_wal` as a segment of `owner`; returns the WAL folder and name. */
export function leaveSegment(folder: string, content: Buffer | string, owner: Owner = endedOwner()) {
  const wal = join(folder, 'metric_events', '_wal');
  mkdirSync(wal, { recursive: true });
  const name = segmentFileName({ time: compactTime(Date.now()), uuid: randomUUID(), owner });
  writeFileSync(join(wal, name), content);
  return { wal, name };
}
