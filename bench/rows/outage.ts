/**
 * outage_rss_growth_mb: how much the process's memory grows while the
 * database is away and spans keep flowing. The exporter writes to PostgreSQL
 * through a TCP proxy, with maxInflightBytes set (16 MiB). Spans flow at
 * 5,000/s in 512-span exports that do not wait for the earlier ones (as
 * BatchSpanProcessor's forceFlush, or several processors, call export), so
 * rows pile up in the exporter during the outage until the cap sends batches
 * straight to the spill. First the flow runs with the database up (the pool
 * connected, the heap sized for the load); then RSS is sampled after a full
 * GC, the proxy drops every connection and refuses new ones, and the flow goes
 * on; RSS is sampled after a full GC every second. The figure is the largest
 * sample minus the one before the outage. Run with `node --expose-gc`
 * (bench/run.ts does), in a process of its own. Afterwards every row must be
 * in the table or in the spill.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { row } from '../report.js';
import { llamonitor, type MetricEventsSpanExporter } from '../support/built.js';
import { progress, runGroup } from '../support/child.js';
import { spilledRows } from '../support/diagnostics.js';
import { OutageProxy } from '../support/outage-proxy.js';
import { SpanReplayer } from '../support/span-templates.js';

const MiB = 2 ** 20;
const BATCH = 512;

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

/** Makes spans at `spansPerSecond` for `seconds`, calling `everySecond` once a second. */
function flow(
  replayer: SpanReplayer,
  spansPerSecond: number,
  seconds: number,
  everySecond: () => void = () => undefined,
): Promise<{ spans: number; rows: number }> {
  let spans = 0;
  let rows = 0;
  const start = performance.now();
  let nextSecond = 1_000;
  return new Promise((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      const due = Math.floor((elapsed * spansPerSecond) / 1000);
      while (spans < due) {
        const made = replayer.replayTrace();
        spans += made.spans;
        rows += made.rows;
      }
      if (elapsed >= nextSecond) {
        nextSecond += 1_000;
        everySecond();
      }
      if (elapsed >= seconds * 1000) resolve({ spans, rows });
      else setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
  });
}

runGroup(async (settings) => {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') throw new Error('run with node --expose-gc');
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-bench-outage-'));
  const spillDir = join(folder, 'spill');
  const database = new URL(settings.postgresUrl);
  const proxy = await OutageProxy.start(database.hostname, Number(database.port || 5432));
  const proxied = new URL(settings.postgresUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  const schema = `llamonitor_outage_${process.pid}`;
  const admin = new pg.Client({ connectionString: settings.postgresUrl });
  await admin.connect();
  try {
    const exporter = new llamonitor.MetricEventsSpanExporter({
      url: proxied.toString(),
      schema,
      spillDir,
      maxInflightBytes: settings.outageCapMiB * MiB,
      shutdownTimeoutMillis: 5_000,
    });
    await exporter.ready();
    const mapsToRow = (span: ReadableSpan) => llamonitor.toMetricEvent(span) !== undefined;
    const batcher = new ImpatientBatcher(exporter);
    const replayer = new SpanReplayer(batcher, mapsToRow);

    const upSeconds = Math.min(5, settings.outageSeconds / 2);
    progress(`outage: ${settings.spansPerSecond} spans/s, ${upSeconds} s with the database up`);
    const before = await flow(replayer, settings.spansPerSecond, upSeconds);
    const rssBefore = collectedRss();
    let peak = rssBefore;
    const samples: string[] = [];
    const sample = () => {
      const rss = collectedRss();
      peak = Math.max(peak, rss);
      samples.push(
        `${((rss - rssBefore) / MiB).toFixed(0)}/${(process.memoryUsage().heapUsed / MiB).toFixed(0)}`,
      );
    };
    await proxy.cut();
    progress(
      `outage: the database cut off for ${settings.outageSeconds} s, spans still flowing; ` +
        `maxInflightBytes ${settings.outageCapMiB} MiB; RSS before ${(rssBefore / MiB).toFixed(0)} MiB`,
    );
    const during = await flow(replayer, settings.spansPerSecond, settings.outageSeconds, sample);
    batcher.send();
    sample();
    const rssEnd = collectedRss();
    progress(`outage: MiB each second, RSS growth/heap used: ${samples.join(' ')}`);
    progress(
      `outage: RSS growth at the end ${((rssEnd - rssBefore) / MiB).toFixed(0)} MiB, largest ${((peak - rssBefore) / MiB).toFixed(0)} MiB; ` +
        `${batcher.exports} exports, ${batcher.answered} answered; shutting down`,
    );
    await exporter.shutdown();
    const spilled = spilledRows(spillDir);
    const { rows: counted } = await admin.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${schema}".metric_events`,
    );
    const stored = Number(counted[0]?.n);
    const made = before.rows + during.rows;
    if (batcher.failed > 0) throw new Error(`${batcher.failed} exports failed (the spill should take them)`);
    // A write whose commit the outage cut off from its answer is both stored and spilled (replay skips it).
    if (stored + spilled.rows < made)
      throw new Error(`${stored} stored + ${spilled.rows} spilled of ${made} rows`);
    return [
      row({
        name: 'outage_rss_growth_mb',
        value: (peak - rssBefore) / MiB,
        unit: 'MiB',
        reference: settings.outageCapMiB,
        ratio: null,
        target: `value <= ${settings.outageCapMiB + 32}`,
        note:
          `largest RSS (after GC, each second) minus RSS just before a ${settings.outageSeconds} s PostgreSQL outage ` +
          `(connections dropped and refused) with ${during.spans} spans at ${settings.spansPerSecond}/s in ${BATCH}-span exports ` +
          `not waiting for each other; reference: maxInflightBytes (MiB); at the end ${((rssEnd - rssBefore) / MiB).toFixed(1)} MiB; ` +
          `${stored} rows stored before the outage, ${spilled.rows} in ${spilled.files} spill files, none lost`,
      }),
    ];
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    rmSync(folder, { recursive: true, force: true });
  }
});
