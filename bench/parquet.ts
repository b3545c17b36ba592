/**
 * The Parquet sink end to end against writing the same rows with the bare
 * libraries, in one run (timings on a shared machine move; ratios within a
 * run hold better):
 *
 *   sink, one write:    ParquetSink.write(all rows) then flush(): WAL append + fsync, worker
 *                       encoding, temporary file, fsync, rename. Rows are durable and visible.
 *   sink, 512-row writes: the same rows in the batches a BatchSpanProcessor exports, then flush().
 *   hyparquet-writer:   rows → columns → ParquetWriter (snappy) to a file, same schema, no fsync.
 *   parquetjs-lite:     the same rows, row by row, snappy.
 *
 * Each round runs every scenario (in a rotating order); ratios are taken
 * within a round, then the median over rounds. It also samples the event
 * loop's delay (perf_hooks.monitorEventLoopDelay) while sink.write(all rows)
 * runs, and while a control task that yields every 4 ms runs: the floor this
 * machine's load sets.
 *
 *   npm run build && npx tsx bench/parquet.ts [rows=100000] [rounds=3]
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ByteWriter, ParquetWriter, type ColumnSource } from 'hyparquet-writer';
import { COLUMNS, type MetricEvent } from '../src/schema/columns.js';
import { isoMicrosToEpochMicros } from '../src/schema/timestamps.js';
import { parquetSchema } from '../src/sinks/parquet/parquet-schema.js';
import { importBuilt } from '../test/support/built-package.js';
import { sampleRows } from '../test/support/sample-rows.js';

type ParquetModule = typeof import('../src/sinks/parquet/index.js');
const { ParquetSink } = await importBuilt<ParquetModule>('sinks/parquet/index.js');

const ROWS = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);

interface Delay {
  maxMillis: number;
  p99Millis: number;
}

async function withDelayMonitor(task: () => Promise<void>): Promise<Delay> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await task();
  histogram.disable();
  return { maxMillis: histogram.max / 1e6, p99Millis: histogram.percentile(99) / 1e6 };
}

async function timed(task: () => Promise<void> | void): Promise<number> {
  const start = performance.now();
  await task();
  return performance.now() - start;
}

/**
 * The sink end to end: durable (write) and visible (flush). The event loop's
 * delay is sampled while the rows are written.
 */
async function sinkRun(rows: readonly MetricEvent[], folder: string, batchRows: number): Promise<Run> {
  const sink = new ParquetSink(folder, {
    table: 'metric_events',
    poolSize: 1,
    createTable: true,
    fileRows: 100_000,
    fileAgeMillis: 60_000,
  });
  await sink.prepare();
  let delay: Delay | undefined;
  const millis = await timed(async () => {
    delay = await withDelayMonitor(async () => {
      for (let start = 0; start < rows.length; start += batchRows) {
        await sink.write(rows.slice(start, start + batchRows));
      }
    });
    await sink.flush();
  });
  await sink.close();
  return { millis, delay };
}

/** What an application would write with hyparquet-writer alone: same schema, same compression. */
function bareHyparquet(rows: readonly MetricEvent[], path: string): void {
  const columnData: ColumnSource[] = COLUMNS.map((spec) => ({
    name: spec.name,
    data: rows.map((row) => {
      const value = spec.name === 'created_at' ? row.timestamp : (row as Record<string, unknown>)[spec.name];
      if (value === null || value === undefined) return null;
      if (spec.kind === 'timestamp') return isoMicrosToEpochMicros(value as string);
      if (spec.kind === 'int64') return BigInt(value as number | bigint);
      return value;
    }),
  }));
  const writer = new ByteWriter();
  const parquet = new ParquetWriter({ writer, schema: parquetSchema(), codec: 'SNAPPY' });
  void parquet.write({ columnData });
  void parquet.finish();
  writeFileSync(path, writer.getBytes()); // no fsync, as the library's own parquetWriteFile
}

interface ParquetjsWriter {
  appendRow(row: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}
interface Parquetjs {
  ParquetSchema: new (
    fields: Record<string, { type: string; optional?: boolean; compression?: string }>,
  ) => unknown;
  ParquetWriter: { openFile(schema: unknown, path: string): Promise<ParquetjsWriter> };
}
const require = createRequire(import.meta.url);
const parquetjs = require('parquetjs-lite') as Parquetjs;

const PARQUETJS_TYPES: Record<string, string> = {
  STRING: 'UTF8',
  JSON: 'JSON',
  INT32: 'INT32',
  INT64: 'INT64',
  DOUBLE: 'DOUBLE',
  TIMESTAMP_MICROS: 'TIMESTAMP_MICROS',
};

async function parquetjsLite(rows: readonly MetricEvent[], path: string): Promise<void> {
  const schema = new parquetjs.ParquetSchema(
    Object.fromEntries(
      COLUMNS.map((spec) => [
        spec.name,
        { type: PARQUETJS_TYPES[spec.parquetType] as string, optional: spec.nullable, compression: 'SNAPPY' },
      ]),
    ),
  );
  const writer = await parquetjs.ParquetWriter.openFile(schema, path);
  for (const row of rows) {
    const record: Record<string, unknown> = { ...row, created_at: row.timestamp };
    for (const spec of COLUMNS) {
      const value = record[spec.name];
      if (value === null) delete record[spec.name];
      else if (spec.kind === 'timestamp') record[spec.name] = isoMicrosToEpochMicros(value as string);
      else if (spec.kind === 'int64') record[spec.name] = Number(value); // parquetjs-lite has no bigint path
    }
    await writer.appendRow(record);
  }
  await writer.close();
}

/** A task that works in 4 ms slices for `millis`: the loop delay this machine shows for well-behaved code. */
async function controlTask(millis: number): Promise<void> {
  const end = performance.now() + millis;
  while (performance.now() < end) {
    const sliceEnd = performance.now() + 4;
    let x = 0;
    while (performance.now() < sliceEnd) x += Math.sqrt(x + 1);
    await yieldToLoop(x);
  }
}

const perSecond = (millis: number) => Math.round((ROWS / millis) * 1000);
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const fixed = (value: number) => value.toFixed(1);

interface Run {
  millis: number;
  delay?: Delay | undefined;
}

const rows = sampleRows(ROWS);
const folder = mkdtempSync(join(tmpdir(), 'llamonitor-bench-'));
const scenarios: Record<string, (round: number) => Promise<Run>> = {
  'ParquetSink, one write + flush': (round) => sinkRun(rows, join(folder, `sink-${round}`), rows.length),
  'ParquetSink, 512-row writes + flush': (round) => sinkRun(rows, join(folder, `batched-${round}`), 512),
  'hyparquet-writer alone': async (round) => ({
    millis: await timed(() => bareHyparquet(rows, join(folder, `bare-${round}.parquet`))),
  }),
  'parquetjs-lite': async (round) => ({
    millis: await timed(() => parquetjsLite(rows, join(folder, `lite-${round}.parquet`))),
  }),
  'control task (4 ms slices)': async () => ({
    millis: 1000,
    delay: await withDelayMonitor(() => controlTask(1000)),
  }),
};
const names = Object.keys(scenarios);
const runs = new Map<string, Run[]>(names.map((name) => [name, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = names.map((_, index) => names[(index + round) % names.length] as string);
    for (const name of order)
      (runs.get(name) as Run[]).push(await (scenarios[name] as (r: number) => Promise<Run>)(round));
    console.log(
      `round ${round + 1}: ` +
        names
          .filter((name) => !name.startsWith('control'))
          .map((name) => `${name} ${perSecond((runs.get(name) as Run[])[round]?.millis as number)} rows/s`)
          .join(', '),
    );
  }
  const millisOf = (name: string) => (runs.get(name) as Run[]).map((run) => run.millis);
  const ratio = (name: string, baseline: string) =>
    median(millisOf(baseline).map((millis, round) => millis / (millisOf(name)[round] as number)));
  const delayOf = (name: string, pick: (delay: Delay) => number) =>
    median((runs.get(name) as Run[]).map((run) => pick(run.delay as Delay)));
  console.log(`\n${ROWS} rows, median of ${ROUNDS} rounds`);
  console.table(
    Object.fromEntries(
      names
        .filter((name) => !name.startsWith('control'))
        .map((name) => [
          name,
          { 'rows/s': perSecond(median(millisOf(name))), ms: Math.round(median(millisOf(name))) },
        ]),
    ),
  );
  console.log(
    `file size: hyparquet-writer ${statSync(join(folder, 'bare-0.parquet')).size} bytes, parquetjs-lite ${statSync(join(folder, 'lite-0.parquet')).size} bytes`,
  );
  for (const sink of ['ParquetSink, one write + flush', 'ParquetSink, 512-row writes + flush']) {
    console.log(
      `${sink}: ${ratio(sink, 'hyparquet-writer alone').toFixed(2)}x hyparquet-writer (target >= 0.9), ` +
        `${ratio(sink, 'parquetjs-lite').toFixed(2)}x parquetjs-lite (target >= 3)`,
    );
  }
  for (const name of ['ParquetSink, one write + flush', 'control task (4 ms slices)']) {
    console.log(
      `event loop delay, ${name === 'control task (4 ms slices)' ? name : `sink.write(${ROWS} rows) in one call`}: ` +
        `max ${fixed(delayOf(name, (d) => d.maxMillis))} ms, p99 ${fixed(delayOf(name, (d) => d.p99Millis))} ms`,
    );
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}
