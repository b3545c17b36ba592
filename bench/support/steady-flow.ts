/**
 * A steady flow of spans through a BatchSpanProcessor, as an application makes
 * them, with the event loop's delay measured meanwhile (the event-loop rows).
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  BatchSpanProcessor,
  type BufferConfig,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { SpanReplayer } from './span-templates.js';

/** What BatchSpanProcessor costs the application with an exporter that does nothing. */
export class NoopExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Passes exports through to `inner`, noting how long each took to answer: BatchSpanProcessor exports one batch at a time. */
export class TimedExporter implements SpanExporter {
  readonly millis: number[] = [];
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const start = performance.now();
    this.inner.export(spans, (result) => {
      this.millis.push(performance.now() - start);
      done(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

export interface Flow {
  readonly spans: number;
  readonly rows: number;
  readonly p99Millis: number;
  readonly maxMillis: number;
  readonly meanMillis: number;
  /** Garbage-collection pauses during the measured flow: how many passed 5 ms, and the longest. */
  readonly gcPausesOver5Millis: number;
  readonly longestGcMillis: number;
}

/**
 * Spans at `spansPerSecond` for `seconds` through a BatchSpanProcessor around
 * `exporter`, one trace of the mix at a time, on a 1 ms timer that catches up
 * with the clock; the delay histogram covers the flow after a one-second warm-up.
 */
export async function steadyFlow(
  exporter: SpanExporter,
  spansPerSecond: number,
  seconds: number,
  mapsToRow: (span: ReadableSpan) => boolean,
  batch: BufferConfig = {},
): Promise<Flow> {
  const processor = new BatchSpanProcessor(exporter, batch);
  const replayer = new SpanReplayer(processor, mapsToRow);
  let spans = 0;
  let rows = 0;
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let measuring = false;
  let gcPausesOver5Millis = 0;
  let longestGcMillis = 0;
  const gcObserver = new PerformanceObserver((list) => {
    if (!measuring) return;
    for (const entry of list.getEntries()) {
      if (entry.duration > 5) gcPausesOver5Millis++;
      longestGcMillis = Math.max(longestGcMillis, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const warmUpMillis = 1_000;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      if (elapsed >= warmUpMillis && !measuring) {
        measuring = true;
        histogram.enable();
      }
      const due = Math.floor((elapsed * spansPerSecond) / 1000);
      while (spans < due) {
        const made = replayer.replayTrace();
        spans += made.spans;
        rows += made.rows;
      }
      if (elapsed >= warmUpMillis + seconds * 1000) {
        histogram.disable();
        measuring = false;
        resolve();
      } else setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
  });
  gcObserver.disconnect();
  await processor.forceFlush();
  await processor.shutdown();
  return {
    gcPausesOver5Millis,
    longestGcMillis,
    spans,
    rows,
    p99Millis: histogram.percentile(99) / 1e6,
    maxMillis: histogram.max / 1e6,
    meanMillis: histogram.mean / 1e6,
  };
}
