import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter, type ExporterInternals } from '../../src/export/exporter.js';
import type { MetricEventsExporterOptions } from '../../src/config/options.js';
import { MemorySink } from '../support/memory-sink.js';
import { CHAT_ATTRIBUTES, finishedSpans } from '../support/spans.js';

let spillDir: string;
beforeEach(async () => {
  spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-spill-'));
});
afterEach(async () => {
  await rm(spillDir, { recursive: true, force: true });
});

function exporterWith(
  sink: MemorySink,
  options: MetricEventsExporterOptions = {},
  internals: ExporterInternals = {},
): MetricEventsSpanExporter {
  return MetricEventsSpanExporter.withSink(sink, { spillDir, ...options }, internals);
}

const spillFiles = async () => (await readdir(spillDir)).filter((n) => n.endsWith('.ndjson'));
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

/** Calls export and collects every callback it makes, resolving at the first. */
function exportAll(exporter: MetricEventsSpanExporter, spans: ReadableSpan[]) {
  const results: ExportResult[] = [];
  const first = new Promise<ExportResult>((resolve) =>
    exporter.export(spans, (result) => {
      results.push(result);
      resolve(result);
    }),
  );
  return { first, results };
}

describe('MetricEventsSpanExporter lifecycle', () => {
  it('writes one row per LLM span and reports SUCCESS through exactly one callback', async () => {
    const sink = new MemorySink();
    const exporter = exporterWith(sink);
    const { first, results } = exportAll(exporter, finishedSpans(5));
    expect((await first).code).toBe(ExportResultCode.SUCCESS);
    await exporter.forceFlush();
    expect(sink.rows).toHaveLength(5);
    expect(results).toHaveLength(1);
  });

  it('drops spans without LLM attributes under the default filter and keeps them with spans=all', async () => {
    const plain = finishedSpans(3, { 'http.request.method': 'GET' }, 'GET /health');
    const llmOnly = new MemorySink();
    await exportAll(exporterWith(llmOnly), plain).first;
    const all = new MemorySink();
    await exportAll(exporterWith(all, { spans: 'all' }), plain).first;
    expect([llmOnly.rows.length, all.rows.length]).toEqual([0, 3]);
  });

  it('never has more writes in flight than poolSize while exports arrive concurrently', async () => {
    const sink = new MemorySink();
    sink.delayMillis = 30;
    const exporter = exporterWith(sink, { poolSize: 2 });
    const results = await Promise.all(
      Array.from({ length: 8 }, () => exportAll(exporter, finishedSpans(3)).first),
    );
    expect(results.every((r) => r.code === ExportResultCode.SUCCESS)).toBe(true);
    expect(sink.maxConcurrent).toBe(2);
    expect(sink.rows).toHaveLength(24);
  });

  it('maps exports in flight one after another, so the first one writes while the next is mapped', async () => {
    const sink = new MemorySink();
    const log: string[] = [];
    sink.onWrite = () => log.push(`write ${sink.writes}`);
    // Each span's mapping takes a moment: each batch takes several 2 ms mapping slices.
    const exporter = exporterWith(sink, {
      enrich: (span, event) => {
        const until = performance.now() + 0.05;
        while (performance.now() < until);
        log.push(`map ${span.name}`);
        return event;
      },
    });
    const batches = ['a', 'b', 'c'].map((name) => finishedSpans(200, CHAT_ATTRIBUTES, `chat ${name}`));
    await Promise.all(batches.map((spans) => exportAll(exporter, spans).first));
    const mapped = log.filter((line) => line.startsWith('map')).map((line) => line.slice(-1));
    expect(mapped).toEqual([...'a'.repeat(200), ...'b'.repeat(200), ...'c'.repeat(200)]);
    // The first write started before the last batch was mapped.
    expect(log.indexOf('write 1')).toBeLessThan(log.lastIndexOf('map chat c'));
    expect(sink.rows).toHaveLength(600);
  });

  it('forceFlush waits for writes in flight, then flushes the sink', async () => {
    const sink = new MemorySink();
    sink.delayMillis = 100;
    const exporter = exporterWith(sink);
    void exportAll(exporter, finishedSpans(4));
    await exporter.forceFlush();
    expect(sink.rows).toHaveLength(4);
    expect(sink.flushes).toBe(1);
  });

  it('retries a failing write with backoff and stores the rows once it succeeds', async () => {
    const sink = new MemorySink();
    sink.failuresLeft = 2;
    const exporter = exporterWith(sink);
    expect((await exportAll(exporter, finishedSpans(2)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(sink.writes).toBe(3);
    expect(sink.rows).toHaveLength(2);
  });

  it('spills the rows to disk and reports SUCCESS when writes fail until the deadline', async () => {
    const sink = new MemorySink();
    sink.failuresLeft = Infinity;
    const exporter = exporterWith(sink, { exportTimeoutMillis: 500 });
    const result = await exportAll(exporter, finishedSpans(3)).first;
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect((await readdir(spillDir)).filter((n) => n.endsWith('.ndjson'))).toHaveLength(1);
    expect(sink.rows).toHaveLength(0);
  });

  it('reports FAILED naming both reasons when the write and the spill both fail', async () => {
    const sink = new MemorySink();
    sink.failuresLeft = Infinity;
    const blocker = join(spillDir, 'a-file');
    await writeFile(blocker, 'not a folder');
    const exporter = exporterWith(sink, { exportTimeoutMillis: 300, spillDir: join(blocker, 'spill') });
    const result = await exportAll(exporter, finishedSpans(1)).first;
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toMatch(/connection refused \(test\)/);
    expect(result.error?.message).toMatch(/spilling them to .*a-file\/spill failed too/);
  });

  it('names the failure that made a retry needed when the deadline then cuts the retry short', async () => {
    const sink = new MemorySink();
    sink.failuresLeft = 1;
    sink.onWrite = () => {
      if (sink.writes > 1) sink.hang = true;
    };
    const blocker = join(spillDir, 'b-file');
    await writeFile(blocker, 'not a folder');
    const exporter = exporterWith(sink, { exportTimeoutMillis: 400, spillDir: join(blocker, 'spill') });
    const result = await exportAll(exporter, finishedSpans(1)).first;
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toMatch(
      /connection refused \(test\) \(then the write did not finish within \d+ ms\)/,
    );
  });

  it('shutdown returns within its deadline while the sink hangs, with the pending rows spilled', async () => {
    const sink = new MemorySink();
    sink.hang = true;
    sink.hangOnClose = true;
    const exporter = exporterWith(sink, { shutdownTimeoutMillis: 1_000, exportTimeoutMillis: 60_000 });
    const { first } = exportAll(exporter, finishedSpans(2));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await exporter.shutdown();
    expect(Date.now() - started).toBeLessThan(1_500);
    expect((await first).code).toBe(ExportResultCode.SUCCESS);
    expect((await readdir(spillDir)).filter((n) => n.endsWith('.ndjson'))).toHaveLength(1);
  });

  it('holds a batch still being mapped when shutdown begins to the shutdown deadline, and spills it', async () => {
    const sink = new MemorySink();
    sink.hang = true;
    sink.hangOnClose = true;
    const exporter = exporterWith(sink, { shutdownTimeoutMillis: 1_000, exportTimeoutMillis: 60_000 });
    const { first } = exportAll(exporter, finishedSpans(2));
    const started = Date.now();
    await exporter.shutdown(); // in the same turn as export: its rows are not yet handed to the sink
    expect(Date.now() - started).toBeLessThan(1_500);
    expect((await readdir(spillDir)).filter((n) => n.endsWith('.ndjson'))).toHaveLength(1);
    const answered = await Promise.race([first, new Promise((r) => setTimeout(() => r('not yet'), 100))]);
    expect(answered).toEqual({ code: ExportResultCode.SUCCESS });
  });

  it('fails every export after shutdown at once, without touching the sink', async () => {
    const sink = new MemorySink();
    const exporter = exporterWith(sink);
    await exporter.shutdown();
    const result = await exportAll(exporter, finishedSpans(1)).first;
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toMatch(/after shutdown/);
    expect(sink.writes).toBe(0);
    expect(sink.closed).toBe(true);
  });

  it('sends batches straight to the spill once rows in flight pass maxInflightBytes', async () => {
    const sink = new MemorySink();
    sink.delayMillis = 200;
    const exporter = exporterWith(sink, { maxInflightBytes: 65_536 });
    const big = finishedSpans(400);
    const results = await Promise.all([exportAll(exporter, big).first, exportAll(exporter, big).first]);
    expect(results.map((r) => r.code)).toEqual([ExportResultCode.SUCCESS, ExportResultCode.SUCCESS]);
    expect(sink.rows.length).toBeLessThan(800);
    expect((await readdir(spillDir)).filter((n) => n.endsWith('.ndjson')).length).toBeGreaterThan(0);
  });

  it('gets its write slot back from an export that gave up waiting for it', async () => {
    const sink = new MemorySink();
    sink.failuresLeft = Infinity;
    const exporter = exporterWith(
      sink,
      { poolSize: 1, exportTimeoutMillis: 500 },
      { replayIntervalMillis: 20 },
    );
    await exportAll(exporter, finishedSpans(1)).first; // spilled
    // The replay of that spill holds the only slot for longer than the next export waits for it.
    sink.failuresLeft = 0;
    sink.delayMillis = 480;
    while (sink.concurrent === 0) await sleep(5);
    expect((await exportAll(exporter, finishedSpans(1)).first).code).toBe(ExportResultCode.SUCCESS);
    while ((await spillFiles()).length > 1 || sink.concurrent > 0) await sleep(10);
    sink.delayMillis = 0;
    const writes = sink.writes;
    const started = Date.now();
    expect((await exportAll(exporter, finishedSpans(1)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(Date.now() - started).toBeLessThan(200);
    expect(sink.writes).toBe(writes + 1);
    await exporter.shutdown();
  });

  it('spills later exports at once after one ran out of retries, until the sink answers again', async () => {
    const sink = new MemorySink();
    sink.failuresLeft = Infinity;
    const exporter = exporterWith(sink, { exportTimeoutMillis: 400 }, { replayIntervalMillis: 100 });
    await exportAll(exporter, finishedSpans(2)).first; // retried for 320 ms, then spilled
    const writes = sink.writes;
    const started = Date.now();
    expect((await exportAll(exporter, finishedSpans(2)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(Date.now() - started).toBeLessThan(100);
    expect(sink.writes).toBe(writes);
    expect(await spillFiles()).toHaveLength(2);
    sink.failuresLeft = 0; // the replay's health check finds it back, and replays
    while ((await spillFiles()).length > 0) await sleep(20);
    expect((await exportAll(exporter, finishedSpans(2)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(sink.rows).toHaveLength(6);
    expect(await spillFiles()).toHaveLength(0);
    await exporter.shutdown();
  });

  it('applies enrich to each row, and keeps the mapped row when enrich throws', async () => {
    const sink = new MemorySink();
    let calls = 0;
    const exporter = exporterWith(sink, {
      enrich: (_span, event) => {
        if (++calls === 2) throw new Error('bad hook');
        return { ...event, custom_attributes: { team: 'search' } };
      },
    });
    await exportAll(exporter, finishedSpans(2)).first;
    expect(sink.rows.map((r) => r.custom_attributes?.team ?? null)).toEqual(['search', null]);
  });
});

describe('MetricEventsSpanExporter and tracing', () => {
  const recorded = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(recorded)] });
  provider.register();
  afterAll(() => provider.shutdown());

  it('runs sink writes with tracing suppressed, so an instrumented driver records no span', async () => {
    const sink = new MemorySink();
    sink.onWrite = () => trace.getTracer('instrumented-driver').startSpan('INSERT metric_events').end();
    trace.getTracer('control').startSpan('control span').end();
    await exportAll(exporterWith(sink), finishedSpans(1)).first;
    const names = recorded.getFinishedSpans().map((s) => s.name);
    expect(names).toContain('control span');
    expect(names).not.toContain('INSERT metric_events');
    expect(sink.writes).toBe(1);
  });
});
