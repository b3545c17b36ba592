/**
 * `llamonitor compact` on datasets that many short-lived writers left: the
 * built CLI in a child process merges a day's small files, DuckDB reads the
 * folder before, during and after (in a loop, and at each step the child is
 * stopped at), and the child is killed at each step of the swap: no row is
 * ever missing for a reader, and once the next run has finished every row is
 * there once.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricEvent } from '../../src/schema/columns.js';
import { importBuilt } from '../support/built-package.js';
import { REPO, runCli, startNode } from '../support/child-process.js';
import { queryDataset } from '../support/parquet-readers.js';
import { sampleRows } from '../support/sample-rows.js';

const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');
const { MetricEventsSpanExporter } =
  await importBuilt<typeof import('../../src/export/exporter.js')>('export/exporter.js');

const DAY = 86_400_000;
/** The day the writers wrote, five days back at noon UTC. */
const NOON = Math.floor(Date.now() / DAY) * DAY - 5 * DAY + 12 * 3_600_000;
const DATE = new Date(NOON).toISOString().slice(0, 10);
const WRITERS = 6;
const ROWS_EACH = 150;
const REPEATED = 50;
const UNIQUE = WRITERS * ROWS_EACH;
/** Rows per merged file: three files from the 900 rows. */
const FILE_ROWS = 400;

const rowsOf = (writer: number): MetricEvent[] =>
  sampleRows(ROWS_EACH, {
    seed: `writer-${writer}`,
    startMicros: BigInt(NOON + writer * 1_000_000) * 1000n,
    stepMicros: 1_000_000n,
  });

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/** A dataset as six processes leave it: a file each, the last one holding 50 rows of the first again. */
async function writtenByManyProcesses(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'llamonitor-compact-'));
  folders.push(dir);
  for (let writer = 0; writer < WRITERS; writer++) {
    const sink = await createSink(resolveOptions({ url: dir }));
    await sink.write(rowsOf(writer));
    // A retry that reached this process's store after another had stored the rows.
    if (writer === WRITERS - 1) await sink.write(rowsOf(0).slice(0, REPEATED));
    await sink.close();
  }
  return dir;
}

const dayFolder = (dir: string) => join(dir, 'metric_events', `date=${DATE}`);
const visible = (dir: string) =>
  readdirSync(dayFolder(dir)).filter((name) => name.endsWith('.parquet') && !name.startsWith('.'));
const hidden = (dir: string) => readdirSync(dayFolder(dir)).filter((name) => name.startsWith('.'));

/** The query docs/parquet.md gives as immune to repeats (one row per event_id), for a dataset folder. */
function documentedQuery(dataset: string): string {
  const doc = readFileSync(join(REPO, 'docs', 'parquet.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Many writers'));
  const block = /```sql\n([\s\S]*?)```/.exec(section)![1]!;
  const query = block.slice(0, block.indexOf(';'));
  expect(query).toContain("'llamonitor-data/metric_events/**/*.parquet'");
  return query.replace('llamonitor-data/metric_events', dataset.replaceAll("'", "''"));
}

/** All rows, every distinct event id, and the docs' immune query. */
async function counts(dir: string): Promise<{ rows: number; distinct: number; immune: number }> {
  const dataset = join(dir, 'metric_events');
  const [all] = await queryDataset(
    dataset,
    'SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM {dataset}',
  );
  const [immune] = await queryDataset(dataset, `SELECT count(*) AS n FROM (${documentedQuery(dataset)})`);
  return { rows: Number(all!.n), distinct: Number(all!.d), immune: Number(immune!.n) };
}

/** The stored values, one row per event id, in order: what compaction must keep. */
const contents = (dir: string) =>
  queryDataset(
    join(dir, 'metric_events'),
    `SELECT event_id, timestamp, session_id, model, input_tokens, output_tokens, cost_usd, duration_ms,
            text_custom_metrics, custom_attributes, image_custom_metrics, error
       FROM {dataset} QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY filename) = 1 ORDER BY event_id`,
  );

const env = (dir: string, extra: Record<string, string> = {}) => ({
  LLAMONITOR_URL: dir,
  LLAMONITOR_PARQUET_FILE_ROWS: String(FILE_ROWS),
  ...extra,
});

describe('llamonitor compact', () => {
  it('merges the small files of a day into files of parquetFileRows, each row once, values unchanged', async () => {
    const dir = await writtenByManyProcesses();
    expect(visible(dir)).toHaveLength(WRITERS);
    expect(await counts(dir)).toEqual({ rows: UNIQUE + REPEATED, distinct: UNIQUE, immune: UNIQUE });
    const before = await contents(dir);

    const run = await runCli(['compact', '--date', DATE], env(dir));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(
      `[ok]   ${DATE}: merged ${WRITERS} files into 3, ${UNIQUE} rows, ${REPEATED} rows stored twice kept once\n`,
    );
    expect(visible(dir)).toHaveLength(3);
    expect(hidden(dir)).toEqual([]);
    expect(await counts(dir)).toEqual({ rows: UNIQUE, distinct: UNIQUE, immune: UNIQUE });
    expect(await contents(dir)).toEqual(before);

    // Files already of parquetFileRows are left as they are; a second run has nothing to merge.
    const again = await runCli(
      ['compact', '--date', DATE],
      env(dir, { LLAMONITOR_PARQUET_FILE_ROWS: '300' }),
    );
    expect(again.stdout).toContain(`[ok]   ${DATE}: nothing to merge\n`);
    // Without --date: every day before today; a late writer's file joins the last, short one.
    const late = await createSink(resolveOptions({ url: dir }));
    await late.write(rowsOf(WRITERS).slice(0, 30));
    await late.close();
    const all = await runCli(['compact'], env(dir));
    expect(all.stdout).toContain(
      `[ok]   ${DATE}: merged 2 files into 1, ${UNIQUE - 2 * FILE_ROWS + 30} rows\n`,
    );
    expect(visible(dir)).toHaveLength(3);
    expect(await counts(dir)).toEqual({ rows: UNIQUE + 30, distinct: UNIQUE + 30, immune: UNIQUE + 30 });
  });

  it('a reader in a loop during the compaction never misses a row', async () => {
    const dir = await writtenByManyProcesses();
    const running = startNode(['dist/cli/main.js', 'compact', '--date', DATE], env(dir));
    let done = false;
    void running.finished.then(() => (done = true));
    const seen: { rows: number; distinct: number; immune: number }[] = [];
    let failedReads = 0;
    while (!done || seen.length < 3) {
      try {
        seen.push(await counts(dir));
      } catch (error) {
        // A query that listed an input just before the compaction deleted it cannot open it: run again.
        expect((error as Error).message).toMatch(/No such file|No files found|Cannot open file/i);
        failedReads++;
      }
    }
    const finished = await running.finished;
    expect(finished.code, finished.stdout + finished.stderr).toBe(0);
    expect(seen.length).toBeGreaterThan(2);
    for (const reading of seen) {
      expect(reading.distinct).toBe(UNIQUE);
      expect(reading.immune).toBe(UNIQUE);
      expect(reading.rows).toBeGreaterThanOrEqual(UNIQUE);
    }
    expect(await counts(dir)).toEqual({ rows: UNIQUE, distinct: UNIQUE, immune: UNIQUE });
    expect(failedReads).toBeLessThan(seen.length);
  });

  // Each step a run can die at: before the journal (temporary files written), between two renames,
  // after every rename and between two deletions of the inputs.
  // Each step a run can die at: before the journal (temporary files written), between two renames,
  // after every rename and between two deletions of the inputs (oldest first: writers 0 to 2 gone,
  // 3 to 5 left); with the rows a reader sees there.
  const written = UNIQUE + REPEATED;
  it.each([
    ['compact-before-journal', 'compact-before-journal:1', written],
    ['the first rename', 'compact-before-rename:1', written],
    ['the second rename', 'compact-before-rename:2', written + FILE_ROWS],
    ['the first deletion', 'compact-before-delete:1', written + UNIQUE],
    ['the fourth deletion', 'compact-before-delete:4', UNIQUE + 3 * ROWS_EACH + REPEATED],
  ])(
    'killed at %s: no row missing meanwhile, and after the next run every row once, nothing left over',
    async (_step, pauseAt, visibleRows) => {
      const dir = await writtenByManyProcesses();
      const before = await contents(dir);
      const running = startNode(
        ['dist/cli/main.js', 'compact', '--date', DATE],
        env(dir, { LLAMONITOR_TEST_PAUSE_AT: pauseAt }),
      );
      for (let i = 0; i < 3000 && !running.stdout().includes('paused at'); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(running.stdout()).toContain(`paused at ${pauseAt.replace(':', ' ')}`);
      const stopped = await counts(dir);
      running.child.kill('SIGKILL');
      await running.finished;
      // Every row there, some twice while the old files and the merged ones are both in place.
      expect(stopped).toEqual({ rows: visibleRows, distinct: UNIQUE, immune: UNIQUE });
      const afterKill = await counts(dir);
      expect(afterKill.distinct).toBe(UNIQUE);

      const next = await runCli(['compact', '--date', DATE], env(dir));
      expect(next.code, next.stdout + next.stderr).toBe(0);
      if (pauseAt.startsWith('compact-before-journal')) {
        // Before the commit point: the temporary files go, and this run does the work.
        expect(next.stdout).toContain(`merged ${WRITERS} files into 3`);
      } else {
        expect(next.stdout).toContain(
          `finished the compaction of ${DATE} that an earlier run left half done`,
        );
      }
      expect(await counts(dir)).toEqual({ rows: UNIQUE, distinct: UNIQUE, immune: UNIQUE });
      expect(await contents(dir)).toEqual(before);
      expect(visible(dir)).toHaveLength(3);
      expect(hidden(dir)).toEqual([]);
      expect(existsSync(join(dir, 'metric_events', '_maintenance.lease'))).toBe(false);
    },
  );

  it('parquetCompact: the writer merges the small files of the days before today itself, in the background', async () => {
    const dir = await writtenByManyProcesses();
    const spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-compact-spill-'));
    folders.push(spillDir);
    const exporter = new MetricEventsSpanExporter(
      { spillDir },
      env(dir, { LLAMONITOR_PARQUET_COMPACT: 'true' }),
      { compactionTiming: { firstDelayMillis: 1, intervalMillis: DAY } },
    );
    for (let i = 0; i < 1000 && exporter.compaction?.current === undefined; i++)
      await new Promise((r) => setTimeout(r, 10));
    const report = await exporter.compaction!.current;
    await exporter.shutdown();
    expect(report?.days).toEqual([
      { date: DATE, inputs: WRITERS, outputs: 3, rows: UNIQUE, duplicates: REPEATED, inLimbo: 0 },
    ]);
    expect(visible(dir)).toHaveLength(3);
    expect(await counts(dir)).toEqual({ rows: UNIQUE, distinct: UNIQUE, immune: UNIQUE });
  });

  it('partition with a Parquet URL stops start-up: the folder is split by day already', () => {
    expect(() =>
      MetricEventsSpanExporter.fromEnv({}, { LLAMONITOR_URL: '/tmp/x', LLAMONITOR_PARTITION: 'day' }),
    ).toThrow(
      /^LLAMONITOR_PARTITION=day is not allowed with LLAMONITOR_URL=\/tmp\/x: a Parquet dataset is already split by day/,
    );
  });

  it('parquetCompact with a database URL stops start-up, naming both', () => {
    expect(() =>
      MetricEventsSpanExporter.fromEnv(
        {},
        { LLAMONITOR_URL: 'postgres://u@127.0.0.1:5432/test', LLAMONITOR_PARQUET_COMPACT: 'true' },
      ),
    ).toThrow(
      /^LLAMONITOR_PARQUET_COMPACT=true is not allowed with LLAMONITOR_URL=postgres:\/\/u@127\.0\.0\.1:5432\/test: it merges the files of a Parquet dataset/,
    );
  });

  it('refuses a database URL and a --date that is no day, with exit code 2', async () => {
    expect(await runCli(['compact'], { LLAMONITOR_URL: 'postgres://u@127.0.0.1:5432/test' })).toMatchObject({
      code: 2,
      stdout:
        'llamonitor compact merges the files of a Parquet dataset; postgres keeps its rows in one table, with nothing to merge\n',
    });
    const dir = await mkdtemp(join(tmpdir(), 'llamonitor-compact-'));
    folders.push(dir);
    expect(await runCli(['compact', '--date', 'yesterday'], env(dir))).toMatchObject({
      code: 2,
      stdout: 'llamonitor compact: --date yesterday is not a day (YYYY-MM-DD)\n',
    });
  });
});
