/**
 * mysql_vs_load_data: the path users run, spans ended through a
 * MetricEventsSpanProcessor with its defaults → toMetricEvent → MySQL sink →
 * rows stored, against the `mariadb` client's LOAD DATA LOCAL INFILE of the
 * same rows from a file, into the same indexed table. Each round: a fresh
 * table for each, in a rotating order; ratios within a round. With --detail,
 * also the exporter driven by hand and the sink alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
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

const { createTableSql } = await built<typeof import('../../src/sinks/mysql/ddl.js')>('sinks/mysql/ddl.js');
const { loadDataSql } = await built<typeof import('../../src/sinks/mysql/load-data-writer.js')>(
  'sinks/mysql/load-data-writer.js',
);
const { MySqlSink } = await built<typeof import('../../src/sinks/mysql/index.js')>('sinks/mysql/index.js');
const { createDelimitedEncoder } =
  await built<typeof import('../../src/sinks/delimited-text.js')>('sinks/delimited-text.js');
const { INSERT_COLUMNS } = await built<typeof import('../../src/schema/columns.js')>('schema/columns.js');

type Method = 'mariadb LOAD DATA' | 'processor' | 'exporter by hand' | 'sink alone';

/** The `mariadb` command line client loading `file` into `table`, as a person would. */
function mariadbClient(url: string, file: string, table: string): Promise<void> {
  const parsed = new URL(url);
  const sql = loadDataSql(table).replace("'llamonitor-rows'", `'${file}'`);
  const argv = [
    '--local-infile=1',
    '-h',
    parsed.hostname,
    '-P',
    parsed.port || '3306',
    '-u',
    decodeURIComponent(parsed.username) || 'root',
    parsed.pathname.slice(1),
    '-e',
    sql,
  ];
  const env = {
    ...process.env,
    ...(parsed.password ? { MYSQL_PWD: decodeURIComponent(parsed.password) } : {}),
  };
  return new Promise((resolve, reject) => {
    const child = spawn('mariadb', argv, { env, stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mariadb exited with ${code}`))));
  });
}

runGroup(async (settings) => {
  const url = settings.mysqlUrl;
  progress(`mysql: making spans for ${settings.rows} rows`);
  const { spans, rows } = spansForRows(settings.rows);
  // Ended through each processor before its timing (WARM_UP_ROWS): stored too, and counted.
  const { spans: warmUp, rows: warmUpRows } = spansForRows(WARM_UP_ROWS);
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-bench-mysql-'));
  const file = join(folder, 'rows.tsv');
  writeFileSync(file, createDelimitedEncoder(INSERT_COLUMNS, 'mysql')(rows));
  const spillDir = join(folder, 'spill');
  const admin = await mysql.createConnection({ uri: url });
  const table = `llamonitor_bench_${process.pid}`;
  const freshTable = async () => {
    await admin.query(`DROP TABLE IF EXISTS \`${table}\``);
    await admin.query(createTableSql(table));
  };
  const assertStored = async (method: Method) => {
    const [counted] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
    const expected = rows.length + (method === 'processor' ? warmUpRows.length : 0);
    if (Number(counted[0]?.n) !== expected)
      throw new Error(`${method} stored ${counted[0]?.n} of ${expected} rows`);
  };

  /** The processor's runs, one per round: what they cost (bench/support/processor-cost.ts). */
  const processorRuns: ProcessorRun[] = [];
  const methods: Record<Method, () => Promise<number>> = {
    'mariadb LOAD DATA': async () => {
      await freshTable();
      const millis = await timedMillis(() => mariadbClient(url, file, table));
      await assertStored('mariadb LOAD DATA');
      return millis;
    },
    processor: async () => {
      await freshTable();
      const run = await timedThroughProcessor({ url, table, createTable: false, spillDir }, spans, warmUp);
      processorRuns.push(run);
      assertNothingSpilled(spillDir);
      await assertStored('processor');
      return run.millis;
    },
    'exporter by hand': async () => {
      await freshTable();
      const exporter = new llamonitor.MetricEventsSpanExporter({ url, table, createTable: false, spillDir });
      await exporter.ready();
      const millis = await timedMillis(async () => {
        await exportInBatches(exporter, spans, settings.batch, settings.concurrency);
        await exporter.forceFlush();
      });
      await exporter.shutdown();
      assertNothingSpilled(spillDir);
      await assertStored('exporter by hand');
      return millis;
    },
    'sink alone': async () => {
      await freshTable();
      const sink = new MySqlSink(url, { table, poolSize: 4, createTable: false });
      await sink.prepare();
      const millis = await timedMillis(() =>
        writeInBatches((batch) => sink.write(batch), rows, settings.batch, settings.concurrency),
      );
      await sink.close();
      await assertStored('sink alone');
      return millis;
    },
  };
  const names: Method[] = settings.detail
    ? ['mariadb LOAD DATA', 'processor', 'exporter by hand', 'sink alone']
    : ['mariadb LOAD DATA', 'processor'];
  let rates: Map<Method, number[]>;
  try {
    rates = await ratesOverRounds(names, methods, rows.length, settings.rounds, (round, line) =>
      progress(`mysql round ${round + 1}/${settings.rounds}: rows/s ${line}`),
    );
  } finally {
    await admin.query(`DROP TABLE IF EXISTS \`${table}\``);
    await admin.end();
    rmSync(folder, { recursive: true, force: true });
  }
  const client = rates.get('mariadb LOAD DATA')!;
  const result = (name: string, method: Method, note: string): BenchRow =>
    throughputRow(name, rates.get(method)!, client, 'ratio >= 0.9', note);
  return [
    result(
      'mysql_vs_load_data',
      'processor',
      `spans ended through MetricEventsSpanProcessor (defaults: one 512-span export at a time; timed after ${WARM_UP_ROWS} spans of warm-up through it) to rows stored (mapping, LOAD DATA LOCAL, indexed InnoDB table), then forceFlush, vs the mariadb client's LOAD DATA LOCAL INFILE of the same rows; ${rows.length} rows from ${spans.length} spans; CPU per row and main-thread time per span: the rows below`,
    ),
    ...processorCostRows('mysql', processorRuns, rows.length, spans.length, {
      mappingMicrosPerRow: mappingFloor(spans),
    }),
    ...(settings.detail
      ? [
          result(
            'mysql_exporter_by_hand_vs_load_data',
            'exporter by hand',
            `the exporter driven by hand: ${settings.batch}-span exports, ${settings.concurrency} in flight, vs the mariadb client`,
          ),
          result(
            'mysql_sink_alone_vs_load_data',
            'sink alone',
            'MySqlSink.write of the mapped rows, same batches, vs the mariadb client',
          ),
        ]
      : []),
  ];
});
