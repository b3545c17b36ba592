/**
 * The same 100,000 rows into the same indexed table, several ways, in one run:
 *   psql \copy       psql reading the rows as a COPY text file (the yardstick)
 *   sink COPY        PostgresSink.write(rows), end to end: encoding included (parts on 4 connections)
 *   sink, 1 conn.    the same with poolSize 1: one COPY, as psql does
 *   sink, batches    PostgresSink.write in 512-row batches, 4 at once (a BatchSpanProcessor's shape)
 *   conflict path    COPY into a temporary table, INSERT ... SELECT ... ON CONFLICT DO NOTHING
 *   unnest           INSERT ... SELECT FROM unnest($1::uuid[], ...) ON CONFLICT DO NOTHING, 10,000 rows a statement
 *   replay           the sink writing the same rows again: COPY fails, the conflict path stores nothing
 * Each into a fresh table with the six indexes; psql and the sink swap order every round, and
 * each ratio compares two runs of the same round. Usage:
 *   npx tsx bench/postgres.ts [rows=100000] [rounds=5]
 * LLAMONITOR_BENCH_POSTGRES_URL (default: the tests' server) picks the server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import { INSERT_COLUMNS, type ColumnSpec, type MetricEvent } from '../src/schema/columns.js';
import { postgresType } from '../src/sinks/postgres/column-types.js';
import { createDelimitedEncoder } from '../src/sinks/delimited-text.js';
import { writeSkippingStored } from '../src/sinks/postgres/conflict-path.js';
import {
  createIndexStatements,
  createSchemaStatement,
  createTableStatement,
  insertColumnList,
  tableName,
  type TableName,
} from '../src/sinks/postgres/ddl.js';
import { PostgresSink } from '../src/sinks/postgres/index.js';
import { sampleRows } from '../test/support/sample-rows.js';

const url =
  process.env.LLAMONITOR_BENCH_POSTGRES_URL ??
  process.env.LLAMONITOR_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const rowCount = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 5);
const schema = `llamonitor_bench_${process.pid}`;

const rows = sampleRows(rowCount);
const encode = createDelimitedEncoder(INSERT_COLUMNS, 'postgres');
const folder = mkdtempSync(join(tmpdir(), 'llamonitor-bench-'));
const copyFile = join(folder, 'rows.copy');
writeFileSync(copyFile, encode(rows));

const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(createSchemaStatement(schema));

let tableNumber = 0;
async function freshTable(): Promise<TableName> {
  const name = tableName(`events_${++tableNumber}`, schema);
  await admin.query(createTableStatement(name));
  for (const statement of createIndexStatements(name)) await admin.query(statement);
  // A checkpoint now rather than in the middle of a measurement (needs pg_checkpoint; skipped without).
  await admin.query('CHECKPOINT').catch(() => undefined);
  return name;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
}

function psqlCopy(name: TableName): Promise<void> {
  const command = `\\copy ${name.sql} (${insertColumnList}) FROM '${copyFile}'`;
  return new Promise((resolve, reject) => {
    const psql = spawn('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', command], { stdio: 'inherit' });
    psql.on('error', reject);
    psql.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited with ${code}`))));
  });
}

async function sinkOn(name: TableName, poolSize = 4): Promise<PostgresSink> {
  const sink = new PostgresSink(url, { table: name.table, schema, poolSize, createTable: false });
  await sink.prepare();
  return sink;
}

async function inBatches(sink: PostgresSink, size: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const start = next;
      next += size;
      await sink.write(rows.slice(start, start + size));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const ARRAY_TYPES: Record<ColumnSpec['kind'], string> = {
  uuid: 'uuid',
  string: 'text',
  text: 'text',
  timestamp: 'timestamptz',
  double: 'float8',
  int32: 'int4',
  int64: 'int8',
  json: 'jsonb',
};

async function unnestInsert(pool: pg.Pool, name: TableName, statementRows: number): Promise<void> {
  const arrays = INSERT_COLUMNS.map((c, i) => `$${i + 1}::${ARRAY_TYPES[c.kind]}[]`).join(', ');
  const sql = `INSERT INTO ${name.sql} (${insertColumnList}) SELECT * FROM unnest(${arrays}) ON CONFLICT DO NOTHING`;
  const client = await pool.connect();
  try {
    for (let start = 0; start < rows.length; start += statementRows) {
      const slice = rows.slice(start, start + statementRows) as unknown as Record<string, unknown>[];
      const values = INSERT_COLUMNS.map((c) =>
        slice.map((row) => {
          const value = row[c.name];
          if (value === null || value === undefined) return null;
          if (c.kind === 'json') return JSON.stringify(value);
          return typeof value === 'bigint' ? value.toString() : value;
        }),
      );
      await client.query(sql, values);
    }
  } finally {
    client.release();
  }
}

type Method =
  | 'psql \\copy'
  | 'sink COPY'
  | 'sink, 1 connection'
  | 'sink, 512-row batches x4'
  | 'conflict path'
  | 'unnest'
  | 'replay';
const seconds = new Map<Method, number[]>();
const sinkCpuSeconds: number[] = [];
const sinkLoopDelayMax: number[] = [];
const sinkLoopDelayP99: number[] = [];
const record = (method: Method, value: number) =>
  seconds.set(method, [...(seconds.get(method) ?? []), value]);

const pool = new pg.Pool({ connectionString: url, max: 2 });
try {
  for (let round = 1; round <= rounds; round++) {
    const psqlTable = await freshTable();
    const sinkTable = await freshTable();
    const sink = await sinkOn(sinkTable);
    const runPsql = async () => record('psql \\copy', await timed(() => psqlCopy(psqlTable)));
    const runSink = async () => {
      const cpu = process.cpuUsage();
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      record('sink COPY', await timed(() => sink.write(rows)));
      delay.disable();
      const used = process.cpuUsage(cpu);
      sinkCpuSeconds.push((used.user + used.system) / 1e6);
      sinkLoopDelayMax.push(delay.max / 1e6);
      sinkLoopDelayP99.push(delay.percentile(99) / 1e6);
    };
    if (round % 2 === 1) {
      await runPsql();
      await runSink();
    } else {
      await runSink();
      await runPsql();
    }
    record('replay', await timed(() => sink.write(rows)));
    await sink.close();

    const oneTable = await freshTable();
    const oneSink = await sinkOn(oneTable, 1);
    record('sink, 1 connection', await timed(() => oneSink.write(rows)));
    await oneSink.close();

    const batchTable = await freshTable();
    const batchSink = await sinkOn(batchTable);
    record('sink, 512-row batches x4', await timed(() => inBatches(batchSink, 512, 4)));
    await batchSink.close();

    const conflictTable = await freshTable();
    const types = new Map(INSERT_COLUMNS.map((c) => [c.name, postgresType(c)]));
    const client = await pool.connect();
    record(
      'conflict path',
      await timed(() =>
        writeSkippingStored(
          client,
          conflictTable,
          types,
          INSERT_COLUMNS,
          rows as readonly MetricEvent[],
          encode,
        ),
      ),
    );
    client.release();

    const unnestTable = await freshTable();
    record('unnest', await timed(() => unnestInsert(pool, unnestTable, 10_000)));

    for (const table of [psqlTable, sinkTable, oneTable, batchTable, conflictTable, unnestTable]) {
      const count = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${table.sql}`);
      if (Number(count.rows[0]?.n) !== rowCount)
        throw new Error(`${table.sql} holds ${count.rows[0]?.n} rows`);
      await admin.query(`DROP TABLE ${table.sql}`);
    }
    const line = [...seconds].map(
      ([method, list]) => `${method} ${(rowCount / (list.at(-1) as number)).toFixed(0)}`,
    );
    console.log(`round ${round}: rows/s ${line.join(', ')}`);
  }
} finally {
  await pool.end();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
  rmSync(folder, { recursive: true, force: true });
}

const median = (list: number[]): number =>
  [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number;
const psqlRates = (seconds.get('psql \\copy') ?? []).map((s) => rowCount / s);
console.log(
  `\nsink COPY, medians: ${median(sinkCpuSeconds).toFixed(2)} s of this process's CPU for ${rowCount} rows, ` +
    `encoding included; event-loop delay p99 ${median(sinkLoopDelayP99).toFixed(0)} ms, ` +
    `longest ${median(sinkLoopDelayMax).toFixed(0)} ms`,
);
console.log(
  `${rowCount} rows, ${rounds} rounds; ratio = rows/s over psql's in the same round, median of rounds`,
);
console.log('method                       median rows/s   ratio vs psql \\copy');
for (const [method, list] of seconds) {
  const rates = list.map((s) => rowCount / s);
  const ratios = rates.map((rate, i) => rate / (psqlRates[i] as number));
  console.log(
    `${method.padEnd(28)} ${median(rates).toFixed(0).padStart(14)}   ${median(ratios).toFixed(2)}` +
      `  (${ratios.map((r) => r.toFixed(2)).join(' ')})`,
  );
}
