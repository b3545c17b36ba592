/**
 * Driving the exporter as an application's processor does: ended spans in
 * batches through `export`, and the rows the mapping makes of them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { built, llamonitor, type MetricEvent, type MetricEventsSpanProcessor } from './built.js';
import { cpuMicrosSince, timedMillis } from './stats.js';
import type { MetricEventsSpanProcessorOptions } from '../../src/export/processor.js';
import { endedSpans } from './span-templates.js';

/** One export, as a promise that rejects unless the exporter reports SUCCESS. */
export function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve, reject) => {
    exporter.export(spans, (result: ExportResult) => {
      if (result.code === ExportResultCode.SUCCESS) resolve();
      else reject(result.error ?? new Error('export failed'));
    });
  });
}

/** Every span through `export`, `batch` spans at a time, `concurrency` exports in flight. */
export async function exportInBatches(
  exporter: SpanExporter,
  spans: readonly ReadableSpan[],
  batch: number,
  concurrency: number,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < spans.length) {
      const start = next;
      next += batch;
      await exportOnce(exporter, spans.slice(start, start + batch));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * Every span ended through a MetricEventsSpanProcessor as an application's
 * tracer ends them (onStart, then onEnd): its BatchSpanProcessor sends one
 * export at a time, in batches of its size, from its queue. Spans are handed
 * over as fast as the queue takes them without dropping any: no more than the
 * queue's size less one batch beyond those handed to the exporter (counted
 * as each export answers: once mapped and its write began). Then forceFlush:
 * every row stored and visible.
 */
export async function endThroughProcessor(
  processor: MetricEventsSpanProcessor,
  spans: readonly ReadableSpan[],
  queueSize: number,
  batchSize = 512,
): Promise<{ hookMillis: number }> {
  const exporter = processor.exporter;
  // The processor hands its BatchSpanProcessor's batches to exportPipelined: count what each took, on its way back.
  const exportOriginal = exporter.exportPipelined.bind(exporter);
  let exported = 0;
  let wake: (() => void) | undefined;
  exporter.exportPipelined = async (batch) => {
    await exportOriginal(batch);
    exported += batch.length;
    wake?.();
  };
  const headroom = queueSize - batchSize;
  const parent = context.active();
  let spansHanded = 0;
  // The application's own cost of ending spans: onStart and onEnd, timed over each run of spans
  // handed over between two waits (one clock read per run, not per span).
  let hookMillis = 0;
  let runStart = performance.now();
  for (const span of spans) {
    if (spansHanded - exported >= headroom) hookMillis += performance.now() - runStart;
    while (spansHanded - exported >= headroom) {
      const before = exported;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 60_000).unref();
      });
      wake = undefined;
      if (exported === before)
        throw new Error(`no export answered for 60 s (${exported} of ${spans.length} spans)`);
      runStart = performance.now();
    }
    processor.onStart(span as unknown as Span, parent);
    processor.onEnd(span);
    spansHanded++;
  }
  hookMillis += performance.now() - runStart;
  await processor.forceFlush();
  if (exported !== spans.length)
    throw new Error(`the processor exported ${exported} of ${spans.length} spans`);
  exporter.exportPipelined = exportOriginal;
  return { hookMillis };
}

const { DEFAULT_MAX_QUEUE_SIZE } =
  await built<typeof import('../../src/export/processor.js')>('export/processor.js');

/** What one run of spans through the processor cost. */
export interface ProcessorRun {
  /** Wall time from the first span ended to every row stored (forceFlush). */
  readonly millis: number;
  /** This process's CPU meanwhile, all threads (process.cpuUsage). */
  readonly cpuMicros: number;
  /**
   * The main thread's busy time meanwhile (event-loop utilisation's `active`): the application's
   * thread, which runs the processor's hooks, the mapping, the encoding and the driver.
   */
  readonly mainThreadMicros: number;
  /** Of that, the time spent in the processor's onStart and onEnd, as the application ends its spans. */
  readonly hookMicros: number;
}

/**
 * Spans the processor gets before the timing, into the same store: a running
 * application's processor has its code compiled and its token worker's
 * tokenizers loaded (about 0.2 s of CPU each, once per process), which a
 * fresh processor per round would otherwise count against its rows.
 */
export const WARM_UP_ROWS = 1_024;

/**
 * A MetricEventsSpanProcessor with its defaults around `options`, connected
 * and warmed up with `warmUp` (ended through it, then forceFlush); `run`
 * times the spans ended through it (endThroughProcessor) and measures this
 * process's CPU (all threads) and its main thread's busy time meanwhile; then
 * it is shut down.
 */
export async function timedThroughProcessor(
  options: MetricEventsSpanProcessorOptions,
  spans: readonly ReadableSpan[],
  warmUp: readonly ReadableSpan[],
  beforeTiming: () => Promise<void> = async () => {},
): Promise<ProcessorRun> {
  const processor = new llamonitor.MetricEventsSpanProcessor(options);
  await processor.exporter.ready();
  await endThroughProcessor(processor, warmUp, DEFAULT_MAX_QUEUE_SIZE);
  await beforeTiming();
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  let hookMillis = 0;
  const millis = await timedMillis(async () => {
    ({ hookMillis } = await endThroughProcessor(processor, spans, DEFAULT_MAX_QUEUE_SIZE));
  });
  const mainThreadMicros = performance.eventLoopUtilization(loop).active * 1000;
  const cpuMicros = cpuMicrosSince(cpu);
  await processor.shutdown();
  return { millis, cpuMicros, mainThreadMicros, hookMicros: hookMillis * 1000 };
}

/** Throws when a run spilled rows: its measurement would not be of stored rows. */
export function assertNothingSpilled(spillDir: string): void {
  if (existsSync(spillDir) && readdirSync(spillDir).length > 0)
    throw new Error(`rows were spilled (${spillDir}): the measurement would not be of stored rows`);
}

/** The same rows, in batches, straight to a sink's write (the sink alone, mapping done). */
export async function writeInBatches(
  write: (rows: readonly MetricEvent[]) => Promise<void>,
  rows: readonly MetricEvent[],
  batch: number,
  concurrency: number,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const start = next;
      next += batch;
      await write(rows.slice(start, start + batch));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export interface SpansAndRows {
  /** Ended spans of the whole mix, the non-LLM ones the filter drops included. */
  readonly spans: ReadableSpan[];
  /** What the exporter makes of them: exactly `rowCount` rows. */
  readonly rows: MetricEvent[];
}

/** Spans of the mix until `rowCount` of them map to a row, and those rows (the references' input). */
export function spansForRows(rowCount: number): SpansAndRows {
  const spans: ReadableSpan[] = [];
  const rows: MetricEvent[] = [];
  let startMillis = Date.now() - 3_600_000;
  while (rows.length < rowCount) {
    const more = endedSpans(Math.max(1_000, Math.ceil((rowCount - rows.length) * 1.02)), startMillis);
    for (const span of more) {
      if (rows.length === rowCount) break;
      spans.push(span);
      const row = llamonitor.toMetricEvent(span);
      if (row) rows.push(row);
    }
    startMillis += 60_000;
  }
  return { spans, rows };
}
