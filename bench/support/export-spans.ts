/**
 * Driving the exporter as an application's processor does: ended spans in
 * batches through `export`, and the rows the mapping makes of them.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { llamonitor, type MetricEvent } from './built.js';
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
