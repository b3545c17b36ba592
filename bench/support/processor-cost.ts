/**
 * What a row costs the application through the processor, per store, from the
 * throughput rounds' processor runs (timedThroughProcessor):
 *
 * cpu_us_per_row_<store>: this process's CPU per row stored, all threads
 * (process.cpuUsage: the main thread, the Parquet and token workers, libuv,
 * the garbage collector's helpers), mapping included. The figure noise moves
 * least: load from other processes does not add to it (issue 20 gates on it).
 *
 * app_thread_us_per_span_<store>: the application's main thread busy per span
 * ended (event-loop utilisation's `active`), which is where the processor's
 * hooks, the mapping, the encoding and the driver run; the note splits off
 * the part spent inside onStart and onEnd as the spans end.
 *
 * The CPU row's reference is its floor, measured in the same run: what the
 * parts no design of the exporter can skip cost alone on the same spans and
 * rows, toMetricEvent (mappingFloor) and, for Parquet, hyparquet-writer
 * writing the rows itself. A target below the floor cannot be met by
 * pipelining or encoding better; only by a cheaper mapping or library.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { row, type BenchRow } from '../report.js';
import { llamonitor } from './built.js';
import type { ProcessorRun } from './export-spans.js';
import { cpuMicrosSince, median, spreadOf } from './stats.js';

/** What the CPU row is held against: the cost of the parts every row needs, each measured alone. */
export interface CostFloor {
  /** toMetricEvent alone over the same spans: CPU µs per row (mappingFloor). */
  readonly mappingMicrosPerRow: number;
  /** The store's own library writing the same rows, where it runs in this process: its name and CPU µs per row. */
  readonly library?: { readonly name: string; readonly microsPerRow: number };
}

/** Rows the exporter holds at most while they wait for their write: poolSize (4) writes of 512-span batches. */
const ROWS_IN_FLIGHT = 4 * 512;

/**
 * toMetricEvent over `spans`, the last ROWS_IN_FLIGHT rows kept as the exporter keeps rows until
 * they are written, the median of `rounds` passes: this process's CPU µs per row made.
 */
export function mappingFloor(spans: readonly ReadableSpan[], rounds = 3): number {
  const perRow: number[] = [];
  const inFlight = new Array<unknown>(ROWS_IN_FLIGHT);
  for (let round = 0; round < rounds; round++) {
    let made = 0;
    const cpu = process.cpuUsage();
    for (const span of spans) {
      const mapped = llamonitor.toMetricEvent(span);
      if (mapped !== undefined) inFlight[made++ % ROWS_IN_FLIGHT] = mapped;
    }
    perRow.push(cpuMicrosSince(cpu) / made);
  }
  return median(perRow);
}

/** The two cost rows of `store` from its processor runs, one per round. */
export function processorCostRows(
  store: 'postgres' | 'mysql' | 'parquet',
  runs: readonly ProcessorRun[],
  rowCount: number,
  spanCount: number,
  floor: CostFloor,
): BenchRow[] {
  const cpuPerRow = runs.map((run) => run.cpuMicros / rowCount);
  const mainPerSpan = runs.map((run) => run.mainThreadMicros / spanCount);
  const hooksPerSpan = runs.map((run) => run.hookMicros / spanCount);
  const { mappingMicrosPerRow, library } = floor;
  const floorNote = `reference: the floor, ${
    library === undefined
      ? `toMetricEvent alone over the same spans`
      : `toMetricEvent alone over the same spans (${mappingMicrosPerRow.toFixed(1)} µs) + ${library.name} alone writing the same rows (${library.microsPerRow.toFixed(1)} µs)`
  }, CPU per row in this run`;
  return [
    row({
      name: `cpu_us_per_row_${store}`,
      value: median(cpuPerRow),
      unit: 'µs',
      reference: mappingMicrosPerRow + (library?.microsPerRow ?? 0),
      ratio: null,
      target: 'value <= 12',
      spread: spreadOf(cpuPerRow),
      note: `this process's CPU (all threads, process.cpuUsage) per row stored in the processor's runs of ${store}_*: mapping, encoding, driver, workers and garbage collection; ${floorNote}`,
    }),
    row({
      name: `app_thread_us_per_span_${store}`,
      value: median(mainPerSpan),
      unit: 'µs',
      reference: null,
      ratio: null,
      target: 'none',
      spread: spreadOf(mainPerSpan),
      note: `the main thread busy (event-loop utilisation) per span ended through the processor into ${store}, everything the exporter does on it included; of which ${median(hooksPerSpan).toFixed(2)} µs inside onStart and onEnd as the span ends (${spanCount} spans, ${rowCount} rows)`,
    }),
  ];
}
