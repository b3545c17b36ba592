/**
 * parquet_vs_hyparquet and parquet_vs_parquetjs_lite: the path users run,
 * spans ended through a MetricEventsSpanProcessor with its defaults →
 * toMetricEvent → Parquet sink → rows durable in the write-ahead log, then
 * visible in a Parquet file after forceFlush, against writing the same rows
 * to a file with the bare hyparquet-writer (same schema, snappy, no fsync) and
 * with parquetjs-lite. Each round runs every method in a rotating order;
 * ratios within a round. With --detail, also the exporter driven by hand and
 * the sink alone.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { throughputRow } from '../report.js';
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
import { bareHyparquet, parquetjsLite } from '../support/parquet-references.js';
import { cpuMicrosSince, median, ratesOverRounds, timedMillis } from '../support/stats.js';
import { visibleParquetFiles } from '../../test/support/parquet-readers.js';

const { ParquetSink } =
  await built<typeof import('../../src/sinks/parquet/index.js')>('sinks/parquet/index.js');

type Method = 'hyparquet-writer' | 'parquetjs-lite' | 'processor' | 'exporter by hand' | 'sink alone';

/** Rows in the visible Parquet files of a dataset, from their footers. */
function storedRows(dataset: string): number {
  return visibleParquetFiles(dataset).reduce((sum, path) => {
    const bytes = readFileSync(join(dataset, path));
    const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    return sum + Number(metadata.num_rows);
  }, 0);
}

runGroup(async (settings) => {
  progress(`parquet: making spans for ${settings.rows} rows`);
  const { spans, rows } = spansForRows(settings.rows);
  // Ended through each processor before its timing (WARM_UP_ROWS): stored too, and counted.
  const { spans: warmUp, rows: warmUpRows } = spansForRows(WARM_UP_ROWS);
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-bench-parquet-'));
  let run = 0;
  const assertStored = (dataset: string, method: Method) => {
    const stored = storedRows(dataset);
    const expected = rows.length + (method === 'processor' ? warmUpRows.length : 0);
    if (stored !== expected) throw new Error(`${method} stored ${stored} of ${expected} rows`);
  };
  /** The processor's runs, one per round: what they cost (bench/support/processor-cost.ts). */
  const processorRuns: ProcessorRun[] = [];
  /** hyparquet-writer's own CPU per row in its rounds: the Parquet part of the CPU row's floor. */
  const hyparquetCpuPerRow: number[] = [];
  const methods: Record<Method, () => Promise<number>> = {
    'hyparquet-writer': () =>
      timedMillis(() => {
        const cpu = process.cpuUsage();
        bareHyparquet(rows, join(folder, `bare-${++run}.parquet`));
        hyparquetCpuPerRow.push(cpuMicrosSince(cpu) / rows.length);
      }),
    'parquetjs-lite': () => timedMillis(() => parquetjsLite(rows, join(folder, `lite-${++run}.parquet`))),
    processor: async () => {
      const directory = join(folder, `processor-${++run}`);
      const spillDir = join(directory, 'spill');
      // forceFlush at the end: the rows visible, not only durable.
      const timed = await timedThroughProcessor({ url: directory, spillDir }, spans, warmUp);
      processorRuns.push(timed);
      assertNothingSpilled(spillDir);
      assertStored(join(directory, 'metric_events'), 'processor');
      rmSync(directory, { recursive: true, force: true });
      return timed.millis;
    },
    'exporter by hand': async () => {
      const directory = join(folder, `exporter-${++run}`);
      const exporter = new llamonitor.MetricEventsSpanExporter({
        url: directory,
        spillDir: join(directory, 'spill'),
      });
      await exporter.ready();
      const millis = await timedMillis(async () => {
        await exportInBatches(exporter, spans, settings.batch, settings.concurrency);
        await exporter.forceFlush(); // the rows visible, not only durable
      });
      await exporter.shutdown();
      assertNothingSpilled(join(directory, 'spill'));
      assertStored(join(directory, 'metric_events'), 'exporter by hand');
      rmSync(directory, { recursive: true, force: true });
      return millis;
    },
    'sink alone': async () => {
      const directory = join(folder, `sink-${++run}`);
      const sink = new ParquetSink(directory, {
        table: 'metric_events',
        poolSize: 4,
        createTable: true,
        fileRows: 100_000,
        fileAgeMillis: 60_000,
      });
      await sink.prepare();
      const millis = await timedMillis(async () => {
        await writeInBatches((batch) => sink.write(batch), rows, settings.batch, settings.concurrency);
        await sink.flush();
      });
      await sink.close();
      assertStored(join(directory, 'metric_events'), 'sink alone');
      rmSync(directory, { recursive: true, force: true });
      return millis;
    },
  };
  const names: Method[] = settings.detail
    ? ['hyparquet-writer', 'parquetjs-lite', 'processor', 'exporter by hand', 'sink alone']
    : ['hyparquet-writer', 'parquetjs-lite', 'processor'];
  let rates: Map<Method, number[]>;
  try {
    rates = await ratesOverRounds(names, methods, rows.length, settings.rounds, (round, line) =>
      progress(`parquet round ${round + 1}/${settings.rounds}: rows/s ${line}`),
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  const result = (name: string, method: Method, reference: Method, target: string, note: string) =>
    throughputRow(name, rates.get(method)!, rates.get(reference)!, target, note);
  return [
    result(
      'parquet_vs_hyparquet',
      'processor',
      'hyparquet-writer',
      'ratio >= 0.9',
      `spans ended through MetricEventsSpanProcessor (defaults: one 512-span export at a time; timed after ${WARM_UP_ROWS} spans of warm-up through it) to rows visible (mapping, WAL + fdatasync, worker encoding, forceFlush) vs bare hyparquet-writer (same schema, snappy, no fsync); ${rows.length} rows from ${spans.length} spans; CPU per row and main-thread time per span: the rows below`,
    ),
    result(
      'parquet_vs_parquetjs_lite',
      'processor',
      'parquetjs-lite',
      'ratio >= 3',
      'the same processor runs vs parquetjs-lite writing the same rows (snappy)',
    ),
    ...processorCostRows('parquet', processorRuns, rows.length, spans.length, {
      mappingMicrosPerRow: mappingFloor(spans),
      library: { name: 'hyparquet-writer', microsPerRow: median(hyparquetCpuPerRow) },
    }),
    ...(settings.detail
      ? [
          result(
            'parquet_exporter_by_hand_vs_hyparquet',
            'exporter by hand',
            'hyparquet-writer',
            'ratio >= 0.9',
            `the exporter driven by hand: ${settings.batch}-span exports, ${settings.concurrency} in flight, then forceFlush`,
          ),
          result(
            'parquet_sink_alone_vs_hyparquet',
            'sink alone',
            'hyparquet-writer',
            'ratio >= 0.9',
            'ParquetSink.write of the mapped rows, same batches, + flush',
          ),
          result(
            'parquet_sink_alone_vs_parquetjs_lite',
            'sink alone',
            'parquetjs-lite',
            'ratio >= 3',
            'ParquetSink.write of the mapped rows, same batches, + flush',
          ),
        ]
      : []),
  ];
});
