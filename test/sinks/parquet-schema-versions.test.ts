/**
 * A Parquet dataset that holds files of schema 1.0 (written by the previous
 * release) and of 1.1 reads as one table: DuckDB with union_by_name, the form
 * every query in the README and docs uses, and the sink's own read-back.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { ADDED_COLUMNS, COLUMNS, SCHEMA_VERSION } from '../../src/schema/columns.js';
import { importBuilt } from '../support/built-package.js';
import { queryDataset } from '../support/parquet-readers.js';
import { sampleRows } from '../support/sample-rows.js';

type ParquetModule = typeof import('../../src/sinks/parquet/index.js');
type ParquetSink = InstanceType<ParquetModule['ParquetSink']>;
// From the built package: its conversion runs in a worker thread, which loads built files.
const { ParquetSink } = await importBuilt<ParquetModule>('sinks/parquet/index.js');

const RELEASE_1_0_FILE = new URL('./fixtures/parquet-1.0.parquet', import.meta.url);
const folders: string[] = [];
const sinks: ParquetSink[] = [];

afterEach(async () => {
  await Promise.allSettled(sinks.splice(0).map((sink) => sink.close()));
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A dataset folder holding the 1.0 release's file (8 rows of 2026-03-01), and a sink on it. */
function mixedDataset(): { dataset: string; sink: ParquetSink } {
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-versions-'));
  folders.push(folder);
  const dataset = join(folder, 'metric_events');
  mkdirSync(join(dataset, 'date=2026-03-01'), { recursive: true });
  copyFileSync(RELEASE_1_0_FILE, join(dataset, 'date=2026-03-01', 'part-release-1.0.parquet'));
  const sink = new ParquetSink(folder, {
    table: 'metric_events',
    poolSize: 1,
    createTable: true,
    fileRows: 1000,
    fileAgeMillis: 600_000,
    warnings: false,
  });
  sinks.push(sink);
  return { dataset, sink };
}

describe('a Parquet dataset of 1.0 and 1.1 files', () => {
  it('reads as one table in DuckDB with union_by_name: 1.0 rows have null 1.1 columns, 1.1 rows have them filled', async () => {
    const { dataset, sink } = mixedDataset();
    const rows = sampleRows(12, { seed: 'written-by-1.1' });
    await sink.write(rows);
    await sink.flush();

    const byVersion = await queryDataset(
      dataset,
      `SELECT schema_version, count(*)::INTEGER AS calls, count(model)::INTEGER AS with_model,
              sum(input_tokens)::BIGINT AS input_tokens
         FROM {dataset} GROUP BY schema_version ORDER BY schema_version`,
    );
    const expectedInput = rows.reduce((sum, row) => sum + Number(row.input_tokens ?? 0), 0);
    expect(byVersion).toEqual([
      { schema_version: '1.0.0', calls: 8, with_model: 0, input_tokens: null },
      { schema_version: SCHEMA_VERSION, calls: 12, with_model: 12, input_tokens: BigInt(expectedInput) },
    ]);
    const columns = await queryDataset(dataset, 'DESCRIBE SELECT * FROM {dataset}');
    const names = columns.map((c) => c['column_name']);
    for (const column of COLUMNS) expect(names).toContain(column.name);
  });

  it('is a 1.0 file indeed: the fixture lacks every 1.1 column', async () => {
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    const reader = await duck.runAndReadAll(
      `DESCRIBE SELECT * FROM read_parquet('${RELEASE_1_0_FILE.pathname}')`,
    );
    const names = reader.getRowObjectsJS().map((c) => c['column_name']);
    expect(names).toEqual(COLUMNS.filter((c) => c.since === '1.0.0').map((c) => c.name));
    for (const column of ADDED_COLUMNS) expect(names).not.toContain(column.name);
  });

  it("reads back a 1.0 file's row with null 1.1 columns (the doctor's and replay's read path)", async () => {
    const { sink } = mixedDataset();
    const [old] = sampleRows(1, { seed: 'release-1.0' });
    const [back] = await sink.readBack([old!.event_id]);
    expect(back).toMatchObject({
      event_id: old!.event_id,
      schema_version: '1.0.0',
      session_id: old!.session_id,
    });
    for (const column of ADDED_COLUMNS)
      expect((back as unknown as Record<string, unknown>)[column.name]).toBeNull();
  });
});
