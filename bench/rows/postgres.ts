/**
 * postgres_vs_copy: the path users run, spans ended through a
 * MetricEventsSpanProcessor with its defaults (its BatchSpanProcessor: one
 * 512-span export at a time) → toMetricEvent → PostgreSQL sink → rows stored,
 * against `psql \copy` of the same rows, as a COPY text file, into the same
 * indexed table. Each round: a fresh table for each, in a rotating order; the
 * ratio is taken within the round. With --detail, also the exporter driven by
 * hand (batch and concurrency settings) and the sink alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { throughputRow, type BenchRow } from '../report.js';
import { built, llamonitor } from '../support/built.js';
import { progress, runGroup } from '../support/child.js';
import { mappingFloor, processorCostRows } from '../support/processor-cost.js';
import {
  assertNothingSpilled,
  exportInBatches,
  spansForRows,
  timedThroughProcessor,
  WARM_UP_ROWS,
  type ProcessorRun,
  writeInBatches,
} from '../support/export-spans.js';
import { ratesOverRounds, timedMillis } from '../support/stats.js';

const ddl = await built<typeof import('../../src/sinks/postgres/ddl.js')>('sinks/postgres/ddl.js');
const { PostgresSink } =
  await built<typeof import('../../src/sinks/postgres/index.js')>('sinks/postgres/index.js');
const { createDelimitedEncoder } =
  await built<typeof import('../../src/sinks/delimited-text.js')>('sinks/delimited-text.js');
const { INSERT_COLUMNS } = await built<typeof import('../../src/schema/columns.js')>('schema/columns.js');

type Method = 'psql \\copy' | 'processor' | 'exporter by hand' | 'sink alone';

runGroup(async (settings) => {
  const url = settings.postgresUrl;
  progress(`postgres: making spans for ${settings.rows} rows`);
  const { spans, rows } = spansForRows(settings.rows);
  // Ended through each processor before its timing (WARM_UP_ROWS): stored too, and counted.
  const { spans: warmUp, rows: warmUpRows } = spansForRows(WARM_UP_ROWS);
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-bench-pg-'));
  const copyFile = join(folder, 'rows.copy');
  writeFileSync(copyFile, createDelimitedEncoder(INSERT_COLUMNS, 'postgres')(rows));
  const schema = `llamonitor_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(ddl.createSchemaStatement(schema));
  let tables = 0;
  const freshTable = async () => {
    const name = ddl.tableName(`events_${++tables}`, schema);
    await admin.query(ddl.createTableStatement(name));
    for (const statement of ddl.createIndexStatements(name)) await admin.query(statement);
    return name;
  };
  const assertStored = async (name: { sql: string }, method: Method) => {
    const { rows: counted } = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${name.sql}`);
    const expected = rows.length + (method === 'processor' ? warmUpRows.length : 0);
    if (Number(counted[0]?.n) !== expected)
      throw new Error(`${method} stored ${counted[0]?.n} of ${expected} rows`);
    await admin.query(`DROP TABLE ${name.sql}`);
  };
  const spillDir = join(folder, 'spill');

  /** The processor's runs, one per round: what they cost (bench/support/processor-cost.ts). */
  const processorRuns: ProcessorRun[] = [];
  // A checkpoint now rather than during a measurement (needs pg_checkpoint or superuser; skipped without).
  const ignore = () => undefined;
  const methods: Record<Method, () => Promise<number>> = {
    'psql \\copy': async () => {
      const name = await freshTable();
      // A checkpoint now rather than during a measurement (needs pg_checkpoint or superuser; skipped without).
      await admin.query('CHECKPOINT').catch(() => undefined);
      const command = `\\copy ${name.sql} (${ddl.insertColumnList}) FROM '${copyFile}'`;
      const millis = await timedMillis(
        () =>
          new Promise<void>((resolve, reject) => {
            const psql = spawn('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', command], {
              stdio: ['ignore', 2, 2],
            });
            psql.on('error', reject);
            psql.on('exit', (code) =>
              code === 0 ? resolve() : reject(new Error(`psql exited with ${code}`)),
            );
          }),
      );
      await assertStored(name, 'psql \\copy');
      return millis;
    },
    processor: async () => {
      const name = await freshTable();
      const run = await timedThroughProcessor(
        { url, schema, table: name.table, createTable: false, spillDir },
        spans,
        warmUp,
        () => admin.query('CHECKPOINT').then(ignore, ignore),
      );
      processorRuns.push(run);
      assertNothingSpilled(spillDir);
      await assertStored(name, 'processor');
      return run.millis;
    },
    'exporter by hand': async () => {
      const name = await freshTable();
      const exporter = new llamonitor.MetricEventsSpanExporter({
        url,
        schema,
        table: name.table,
        createTable: false,
        spillDir,
      });
      await exporter.ready();
      await admin.query('CHECKPOINT').catch(() => undefined);
      const millis = await timedMillis(async () => {
        await exportInBatches(exporter, spans, settings.batch, settings.concurrency);
        await exporter.forceFlush();
      });
      await exporter.shutdown();
      assertNothingSpilled(spillDir);
      await assertStored(name, 'exporter by hand');
      return millis;
    },
    'sink alone': async () => {
      const name = await freshTable();
      const sink = new PostgresSink(url, { table: name.table, schema, poolSize: 4, createTable: false });
      await sink.prepare();
      await admin.query('CHECKPOINT').catch(() => undefined);
      const millis = await timedMillis(() =>
        writeInBatches((batch) => sink.write(batch), rows, settings.batch, settings.concurrency),
      );
      await sink.close();
      await assertStored(name, 'sink alone');
      return millis;
    },
  };
  const names: Method[] = settings.detail
    ? ['psql \\copy', 'processor', 'exporter by hand', 'sink alone']
    : ['psql \\copy', 'processor'];
  let rates: Map<Method, number[]>;
  try {
    rates = await ratesOverRounds(names, methods, rows.length, settings.rounds, (round, line) =>
      progress(`postgres round ${round + 1}/${settings.rounds}: rows/s ${line}`),
    );
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    rmSync(folder, { recursive: true, force: true });
  }
  const psql = rates.get('psql \\copy')!;
  const result = (name: string, method: Method, note: string): BenchRow =>
    throughputRow(name, rates.get(method)!, psql, 'ratio >= 0.9', note);
  return [
    result(
      'postgres_vs_copy',
      'processor',
      `spans ended through MetricEventsSpanProcessor (defaults: one 512-span export at a time; timed after ${WARM_UP_ROWS} spans of warm-up through it) to rows stored (mapping, COPY, indexed table), then forceFlush, vs psql \\copy of the same rows from a file; ${rows.length} rows from ${spans.length} spans; CPU per row and main-thread time per span: the rows below`,
    ),
    ...processorCostRows('postgres', processorRuns, rows.length, spans.length, {
      mappingMicrosPerRow: mappingFloor(spans),
    }),
    ...(settings.detail
      ? [
          result(
            'postgres_exporter_by_hand_vs_copy',
            'exporter by hand',
            `the exporter driven by hand: ${settings.batch}-span exports, ${settings.concurrency} in flight, vs psql \\copy`,
          ),
          result(
            'postgres_sink_alone_vs_copy',
            'sink alone',
            `PostgresSink.write of the mapped rows, same batches, vs psql \\copy`,
          ),
        ]
      : []),
  ];
});
