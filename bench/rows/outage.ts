/**
 * outage_rss_growth_mb: how much the process's memory grows while the
 * database is away and spans keep flowing. The exporter points at a
 * PostgreSQL URL whose port refuses connections, with maxInflightBytes set
 * (16 MiB); spans flow at 5,000/s in 512-span exports that do not wait for
 * the earlier ones (as BatchSpanProcessor's forceFlush, or several processors,
 * call export), so rows pile up in the exporter until the cap sends batches
 * straight to the spill. RSS is sampled after a full GC every second; the
 * figure is the largest sample minus the one before the outage. Run with
 * `node --expose-gc` (bench/run.ts does), in a process of its own.
 * Afterwards every row must be in the spill: none lost.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { row } from '../report.js';
import { llamonitor, type MetricEventsSpanExporter } from '../support/built.js';
import { progress, runGroup } from '../support/child.js';
import { CollectingProcessor, SpanReplayer } from '../support/span-templates.js';

const MiB = 2 ** 20;
const BATCH = 512;

/** A port on this machine that nothing listens on: connections to it are refused at once. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Hands every 512 ended spans to the exporter at once, without waiting for the exports before. */
class ImpatientBatcher implements SpanProcessor {
  private batch: ReadableSpan[] = [];
  exports = 0;
  answered = 0;
  failed = 0;
  constructor(private readonly exporter: MetricEventsSpanExporter) {}
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.batch.push(span);
    if (this.batch.length >= BATCH) this.send();
  }
  send(): void {
    if (this.batch.length === 0) return;
    const spans = this.batch;
    this.batch = [];
    this.exports++;
    this.exporter.export(spans, (result) => {
      this.answered++;
      if (result.code !== ExportResultCode.SUCCESS) this.failed++;
    });
  }
  forceFlush(): Promise<void> {
    this.send();
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return this.forceFlush();
  }
}

function collectedRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

/** Rows in the spill folder's files, from their headers. */
function spilledRows(spillDir: string): { files: number; rows: number } {
  const files = readdirSync(spillDir).filter((name) => name.endsWith('.ndjson'));
  let rows = 0;
  for (const name of files) {
    const text = readFileSync(join(spillDir, name), 'utf8');
    rows += (JSON.parse(text.slice(0, text.indexOf('\n'))) as { rows: number }).rows;
  }
  return { files: files.length, rows };
}

runGroup(async (settings) => {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') throw new Error('run with node --expose-gc');
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-bench-outage-'));
  const spillDir = join(folder, 'spill');
  const capBytes = settings.outageCapMiB * MiB;
  try {
    const port = await refusingPort();
    const exporter = new llamonitor.MetricEventsSpanExporter({
      url: `postgres://postgres@127.0.0.1:${port}/test`,
      spillDir,
      maxInflightBytes: capBytes,
      shutdownTimeoutMillis: 5_000,
    });
    // Load the driver and warm up span making before the first sample: their code is not what grows.
    await exporter.ready().catch(() => undefined);
    const mapsToRow = (span: ReadableSpan) => llamonitor.toMetricEvent(span) !== undefined;
    const warm = new SpanReplayer(new CollectingProcessor(), mapsToRow);
    for (let i = 0; i < 2_000; i++) warm.replayTrace();

    const batcher = new ImpatientBatcher(exporter);
    const replayer = new SpanReplayer(batcher, mapsToRow);
    const before = collectedRss();
    let peak = before;
    let spans = 0;
    let rows = 0;
    progress(
      `outage: ${settings.spansPerSecond} spans/s for ${settings.outageSeconds} s to a refused port, ` +
        `maxInflightBytes ${settings.outageCapMiB} MiB; RSS before ${(before / MiB).toFixed(0)} MiB`,
    );
    const start = performance.now();
    let nextSample = 1_000;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const elapsed = performance.now() - start;
        const due = Math.floor((elapsed * settings.spansPerSecond) / 1000);
        while (spans < due) {
          const made = replayer.replayTrace();
          spans += made.spans;
          rows += made.rows;
        }
        if (elapsed >= nextSample) {
          nextSample += 1_000;
          peak = Math.max(peak, collectedRss());
        }
        if (elapsed >= settings.outageSeconds * 1000) resolve();
        else setTimeout(tick, 1);
      };
      setTimeout(tick, 1);
    });
    batcher.send();
    const end = collectedRss();
    peak = Math.max(peak, end);
    progress(
      `outage: RSS end ${(end / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB; ` +
        `${batcher.exports} exports, ${batcher.answered} answered; shutting down`,
    );
    await exporter.shutdown();
    const spilled = spilledRows(spillDir);
    if (batcher.failed > 0) throw new Error(`${batcher.failed} exports failed (the spill should take them)`);
    if (spilled.rows !== rows) throw new Error(`${spilled.rows} of ${rows} rows in the spill`);
    return [
      row({
        name: 'outage_rss_growth_mb',
        value: (peak - before) / MiB,
        unit: 'MiB',
        reference: settings.outageCapMiB,
        ratio: null,
        target: `value <= ${settings.outageCapMiB + 32}`,
        note:
          `largest RSS (after GC, sampled each second) minus RSS before a ${settings.outageSeconds} s outage ` +
          `(PostgreSQL port refusing connections), ${spans} spans at ${settings.spansPerSecond}/s in ${BATCH}-span exports ` +
          `not waiting for each other; reference: maxInflightBytes (MiB); growth at the end ${((end - before) / MiB).toFixed(1)} MiB; ` +
          `all ${rows} rows in ${spilled.files} spill files`,
      }),
    ];
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
