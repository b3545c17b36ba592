/**
 * A spill is acknowledged only when all of it is on disk. The spill folder is
 * a real tmpfs of a few KB: a batch that does not fit makes the export answer
 * FAILED and leaves no partial file that a replay would later set aside; with
 * room, the export answers SUCCESS and `llamonitor replay` restores every row.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { importBuilt } from '../support/built-package.js';
import { runCli } from '../support/child-process.js';
import { POSTGRES_URL, postgresAvailable, uniqueName } from '../support/databases.js';
import { CHAT_ATTRIBUTES, finishedSpans } from '../support/spans.js';
import { mountTmpfs, tmpfsRefusal } from './tmpfs.js';

/** PostgreSQL where nothing listens: every write is refused, so every batch goes to the spill. */
const UNREACHABLE_POSTGRES = 'postgres://postgres@127.0.0.1:1/test';

/** `count` chat spans of one session whose rows are about 1 KB each. */
function kilobyteSpans(count: number, session: string): ReadableSpan[] {
  return finishedSpans(count, {
    ...CHAT_ATTRIBUTES,
    'session.id': session,
    'llamonitor.attr.note': 'n'.repeat(700),
  });
}

function exportOnce(exporter: { export: MetricEventsSpanExporter['export'] }, spans: ReadableSpan[]) {
  return new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
}

/** Every entry of a folder and its subfolders, with the bytes of each file. */
async function filesIn(folder: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out[path.slice(folder.length + 1)] = (await readFile(path)).length;
    }
  }
  return out;
}

const withPostgres = await postgresAvailable();

describe.skipIf(tmpfsRefusal !== undefined)('a spill on a full disk (a real 64 KB tmpfs)', () => {
  it('answers FAILED for 100 rows of 1 KB that do not fit, and leaves no file behind', async () => {
    const disk = await mountTmpfs(64 * 1024);
    try {
      const spillDir = join(disk.path, 'spill');
      const exporter = new MetricEventsSpanExporter({
        url: UNREACHABLE_POSTGRES,
        spillDir,
        exportTimeoutMillis: 1_000,
        warnings: false,
      });
      const result = await exportOnce(exporter, kilobyteSpans(100, 'does-not-fit'));
      await exporter.shutdown();
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect(result.error?.message).toMatch(/file system is full \(ENOSPC\)/);
      expect(await filesIn(spillDir)).toEqual({});
    } finally {
      await disk.unmount();
    }
  });

  describe.skipIf(!withPostgres)('with room', () => {
    const table = uniqueName('spill_full_disk');
    afterAll(async () => {
      const client = new pg.Client(POSTGRES_URL);
      await client.connect();
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.end();
    });

    it('answers SUCCESS once the rows fit, and replay restores every row into PostgreSQL', async () => {
      const disk = await mountTmpfs(64 * 1024);
      try {
        const spillDir = join(disk.path, 'spill');
        const exporter = new MetricEventsSpanExporter({
          url: UNREACHABLE_POSTGRES,
          table,
          spillDir,
          exportTimeoutMillis: 1_000,
          warnings: false,
        });
        const full = await exportOnce(exporter, kilobyteSpans(100, 'full-disk'));
        await disk.resize(1024 * 1024);
        const roomy = await exportOnce(exporter, kilobyteSpans(100, 'with-room'));
        await exporter.shutdown();
        expect([full.code, roomy.code]).toEqual([ExportResultCode.FAILED, ExportResultCode.SUCCESS]);
        const spilled = await filesIn(spillDir);
        expect(Object.keys(spilled)).toHaveLength(1);
        expect(Object.values(spilled)[0]).toBeGreaterThan(100 * 1024 * 0.8);

        const replay = await runCli([
          'replay',
          '--url',
          POSTGRES_URL,
          '--table',
          table,
          '--spill-dir',
          spillDir,
        ]);
        expect(replay.stdout).toMatch(/replayed 100 rows from 1 files/);
        expect(replay.code).toBe(0);
        const client = new pg.Client(POSTGRES_URL);
        await client.connect();
        const { rows } = await client.query<{ session_id: string; n: number }>(
          `SELECT session_id, count(*)::int AS n FROM ${table} GROUP BY session_id`,
        );
        await client.end();
        expect(rows).toEqual([{ session_id: 'with-room', n: 100 }]);
        expect(await filesIn(spillDir)).toEqual({});
      } finally {
        await disk.unmount();
      }
    });
  });

  it('loses no acknowledged row when the Parquet folder and the spill folder fill one small file system', async () => {
    // The built package: the Parquet sink converts its write-ahead log in a worker thread.
    const built = await importBuilt<typeof import('../../src/index.js')>('index.js');
    const disk = await mountTmpfs(600 * 1024);
    let stopExporter = () => Promise.resolve();
    try {
      const data = join(disk.path, 'data');
      const spillDir = join(disk.path, 'spill');
      const exporter = new built.MetricEventsSpanExporter({
        url: data,
        spillDir,
        exportTimeoutMillis: 1_000,
        parquetFileRows: 200,
        warnings: false,
      });
      stopExporter = () => exporter.shutdown();
      const acknowledged: string[] = [];
      let failed = 0;
      // Up to 40 batches of 120 rows of 1 KB, eight times what the file system holds; a batch of
      // this size does not fit the room a full folder has left, which a spill must not hide.
      for (let batch = 0; batch < 40 && failed < 3; batch++) {
        const spans = kilobyteSpans(120, `batch-${batch}`);
        const result = await exportOnce(exporter, spans);
        if (result.code === ExportResultCode.SUCCESS)
          acknowledged.push(...spans.map((s) => s.spanContext().spanId));
        else failed++;
      }
      expect(failed, 'no export failed: the file system never filled').toBe(3);
      expect(acknowledged.length).toBeGreaterThan(0);
      await disk.resize(16 * 1024 * 1024);
      await stopExporter();

      const replay = await runCli(['replay', '--url', data, '--spill-dir', spillDir]);
      expect(replay.stdout, replay.stderr).not.toMatch(/set \d+ unusable files aside/);
      expect(replay.code, replay.stdout + replay.stderr).toBe(0);
      const duck = await (await DuckDBInstance.create(':memory:')).connect();
      const reader = await duck.runAndReadAll(
        `SELECT DISTINCT span_id FROM read_parquet('${data}/metric_events/**/*.parquet')`,
      );
      const stored = new Set(reader.getRowObjectsJson().map((r) => r['span_id'] as string));
      console.info(
        `full file system: ${acknowledged.length} rows acknowledged, ${stored.size} stored after replay`,
      );
      expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      await stopExporter();
      await disk.unmount();
    }
  });
});
