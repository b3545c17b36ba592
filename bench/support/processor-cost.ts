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
 */
import { row, type BenchRow } from '../report.js';
import type { ProcessorRun } from './export-spans.js';
import { median, spreadOf } from './stats.js';

/** The two cost rows of `store` from its processor runs, one per round. */
export function processorCostRows(
  store: 'postgres' | 'mysql' | 'parquet',
  runs: readonly ProcessorRun[],
  rowCount: number,
  spanCount: number,
): BenchRow[] {
  const cpuPerRow = runs.map((run) => run.cpuMicros / rowCount);
  const mainPerSpan = runs.map((run) => run.mainThreadMicros / spanCount);
  const hooksPerSpan = runs.map((run) => run.hookMicros / spanCount);
  return [
    row({
      name: `cpu_us_per_row_${store}`,
      value: median(cpuPerRow),
      unit: 'µs',
      reference: null,
      ratio: null,
      target: 'value <= 12',
      spread: spreadOf(cpuPerRow),
      note: `this process's CPU (all threads, process.cpuUsage) per row stored in the processor's runs of ${store}_*: mapping, encoding, driver, workers and garbage collection`,
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
