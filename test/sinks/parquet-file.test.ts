import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COLUMNS, type MetricEvent } from '../../src/schema/columns.js';
import { writeParquetFileAtomically } from '../../src/sinks/parquet/parquet-file.js';
import {
  createRowDecoder,
  emptyColumnArrays,
  encodeRowLine,
  parseSegmentHeader,
  segmentHeaderPayload,
  type ColumnArrays,
} from '../../src/sinks/parquet/wal-format.js';
import { queryDataset, visibleParquetFiles } from '../support/parquet-readers.js';
import { sampleRows } from '../support/sample-rows.js';

/** Columns as the worker hands them to the file writer. */
function columnsOf(rows: MetricEvent[]): ColumnArrays {
  const columns = emptyColumnArrays();
  const decode = createRowDecoder(parseSegmentHeader(segmentHeaderPayload(100_000)), columns);
  for (const row of rows) decode(encodeRowLine(row).slice(0, -1), 0n);
  return columns;
}

let dataset: string;
let wal: string;
beforeEach(() => {
  dataset = mkdtempSync(join(tmpdir(), 'llamonitor-file-'));
  wal = join(dataset, '_wal');
  mkdirSync(wal);
});
afterEach(() => rmSync(dataset, { recursive: true, force: true }));

const job = (columns: ColumnArrays) => ({
  finalPath: join(dataset, 'date=2026-03-01', 'part-1.parquet'),
  tempPath: join(wal, '.part-1~host~1~ab.tmp'),
  columns,
});

describe('writeParquetFileAtomically', () => {
  it('leaves a complete file under its final name and nothing else', async () => {
    expect(writeParquetFileAtomically(job(columnsOf(sampleRows(1500))))).toBe('written');
    expect(visibleParquetFiles(dataset)).toEqual(['date=2026-03-01/part-1.parquet']);
    expect(readdirSync(wal)).toEqual([]);
    expect(await queryDataset(dataset, 'SELECT count(*)::INTEGER AS n FROM {dataset}')).toEqual([
      { n: 1500 },
    ]);
  });

  it('leaves no visible file and no temporary file when encoding fails half way', () => {
    const columns = columnsOf(sampleRows(1500));
    // The first row group (1,000 rows) reaches the disk before the second one fails.
    (columns[COLUMNS.findIndex((c) => c.name === 'text_char_count')] as unknown[])[1200] = 'not a number';
    expect(() => writeParquetFileAtomically(job(columns))).toThrow();
    expect(visibleParquetFiles(dataset)).toEqual([]);
    expect(readdirSync(wal)).toEqual([]);
  });

  it('keeps a file already in place (renamed before a crash) and does not write it again', () => {
    const target = job(columnsOf(sampleRows(10)));
    mkdirSync(join(dataset, 'date=2026-03-01'));
    writeFileSync(target.finalPath, 'the earlier, complete file');
    expect(writeParquetFileAtomically(target)).toBe('already-there');
    expect(existsSync(target.tempPath)).toBe(false);
  });
});
