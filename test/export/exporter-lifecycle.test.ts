import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MetricEventsSpanExporter, type ExporterInternals } from '../../src/export/exporter.js';
import type { MetricEventsExporterOptions } from '../../src/config/options.js';
import { ConfigError, RefusedDataError } from '../../src/errors.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import { ConsoleWarnings } from '../../src/warnings.js';
import { MemorySink } from '../support/memory-sink.js';
import { CHAT_ATTRIBUTES, finishedSpans } from '../support/spans.js';

/** The real setTimeout, for bounded waits on real I/O while the exporter runs on fake timers. */
const realSetTimeout = globalThis.setTimeout;
/** What the fake clock replaces: the exporter's deadlines, backoff and replay timers. Mapping (setImmediate) and I/O stay real. */
const FAKE_TIMERS: Parameters<typeof vi.useFakeTimers>[0] = {
  toFake: ['setTimeout', 'clearTimeout', 'Date'],
};

let spillDir: string;
let consoleLines: string[];
beforeEach(async () => {
  spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-spill-'));
  consoleLines = [];
});
afterEach(async () => {
  vi.useRealTimers();
  await rm(spillDir, { recursive: true, force: true });
});

function exporterWith(
  sink: MemorySink,
  options: MetricEventsExporterOptions = {},
  internals: ExporterInternals = {},
): MetricEventsSpanExporter {
  const warnings = new ConsoleWarnings(true, (line) => consoleLines.push(line), new Set());
  return MetricEventsSpanExporter.withSink(sink, { spillDir, ...options }, { warnings, ...internals });
}

/** Spill files, those being replayed (claimed) included: they leave the folder only once the sink took them. */
const spillFiles = async () => (await readdir(spillDir)).filter((n) => n.startsWith('spill-'));

/**
 * Waits, in real time, until `condition` holds; throws naming `what` after
 * `millis`. On the fake clock, timers already due run meanwhile; the clock does not move.
 */
async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  millis = 10_000,
): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > millis) throw new Error(`${what} did not happen within ${millis} ms`);
    await new Promise((resolve) => realSetTimeout(resolve, 2));
    if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(0);
  }
}

/** A promise and whether it has settled yet. */
function watched<T>(promise: Promise<T>): { promise: Promise<T>; readonly settled: boolean } {
  const state = { promise, settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

/** Lets promise callbacks and I/O already done run, without moving the fake clock. */
const settleMicrotasks = () => new Promise((resolve) => setImmediate(resolve));

/** A sink whose writes wait until the test opens the gate. */
class GatedSink extends MemorySink {
  private open: () => void = () => {};
  private gate: Promise<void> | undefined;
  closeGate(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  openGate(): void {
    this.gate = undefined;
    this.open();
  }
  override async write(rows: readonly MetricEvent[]): Promise<void> {
    const gate = this.gate;
    if (gate) {
      this.concurrent++;
      await gate.finally(() => this.concurrent--);
    }
    return super.write(rows);
  }
}

/** A sink that refuses every batch holding a row of one operation name, as a CHECK constraint would. */
class RefusingSink extends MemorySink {
  constructor(private readonly refusedName: string) {
    super();
  }
  override async write(rows: readonly MetricEvent[]): Promise<void> {
    if (rows.some((row) => row.operation_name === this.refusedName)) {
      this.writes++;
      throw new RefusedDataError(`check constraint refuses ${this.refusedName} (test)`, { code: '23514' });
    }
    return super.write(rows);
  }
}

/** A sink whose settings cannot work until `fixed` is set; counts health checks. */
class MisconfiguredSink extends MemorySink {
  fixed = false;
  healthChecks = 0;
  override async write(rows: readonly MetricEvent[]): Promise<void> {
    if (!this.fixed) {
      this.writes++;
      throw new ConfigError('database "nowhere" does not exist (test): create it, or fix the URL', {
        code: '3D000',
      });
    }
    return super.write(rows);
  }
  override async checkHealth(): Promise<void> {
    this.healthChecks++;
    if (!this.fixed) throw new ConfigError('database "nowhere" does not exist (test)', { code: '3D000' });
  }
}

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

  it('shutdown spills a hanging write when its retries must end, and returns at its deadline while close hangs', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const sink = new MemorySink();
    sink.hang = true;
    sink.hangOnClose = true;
    const exporter = exporterWith(sink, { shutdownTimeoutMillis: 1_000, exportTimeoutMillis: 60_000 });
    const first = watched(exportAll(exporter, finishedSpans(2)).first);
    await until('the write to start', () => sink.writes === 1);
    const shutdownAt = Date.now();
    const shutdown = watched(exporter.shutdown());
    // Retries end 30% of the deadline before it, so that the rows can still be spilled.
    await vi.advanceTimersByTimeAsync(699);
    expect(first.settled).toBe(false);
    expect(await spillFiles()).toEqual([]);
    // The fake clock runs a timer due at once a millisecond later.
    await vi.advanceTimersByTimeAsync(2);
    await until('the export to answer', () => first.settled);
    expect(await first.promise).toEqual({ code: ExportResultCode.SUCCESS });
    expect(await spillFiles()).toHaveLength(1);
    await settleMicrotasks();
    await vi.advanceTimersByTimeAsync(shutdownAt + 999 - Date.now());
    expect(shutdown.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await until('shutdown to return at its deadline', () => shutdown.settled);
  });

  it('answers an export still being mapped when shutdown begins before shutdown returns, its rows spilled', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const sink = new MemorySink();
    sink.hang = true;
    sink.hangOnClose = true;
    const exporter = exporterWith(sink, { shutdownTimeoutMillis: 1_000, exportTimeoutMillis: 60_000 });
    const first = watched(exportAll(exporter, finishedSpans(2)).first);
    const shutdownAt = Date.now();
    const shutdown = watched(exporter.shutdown()); // in the same turn as export: its rows are not yet handed to the sink
    await until('the write to start', () => sink.writes === 1);
    await vi.advanceTimersByTimeAsync(701);
    await until('the export to answer', () => first.settled);
    expect(shutdown.settled).toBe(false);
    expect(await first.promise).toEqual({ code: ExportResultCode.SUCCESS });
    expect(await spillFiles()).toHaveLength(1);
    await settleMicrotasks();
    await vi.advanceTimersByTimeAsync(shutdownAt + 1_000 - Date.now());
    await until('shutdown to return at its deadline', () => shutdown.settled);
  });

  it('retries a write that fails after shutdown began for a fifth of the shutdown deadline, then spills it and returns', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const sink = new MemorySink();
    sink.failuresLeft = Infinity;
    const exporter = exporterWith(sink, { shutdownTimeoutMillis: 10_000, exportTimeoutMillis: 60_000 });
    exporter.beginShutdown(); // as MetricEventsSpanProcessor does before its last flush
    const first = watched(exportAll(exporter, finishedSpans(2)).first);
    await until('the first attempt', () => sink.writes === 1);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(first.settled).toBe(false);
    expect(sink.writes).toBeGreaterThan(1);
    await vi.advanceTimersByTimeAsync(1);
    await until('the export to answer', () => first.settled);
    expect(await first.promise).toEqual({ code: ExportResultCode.SUCCESS });
    expect(await spillFiles()).toHaveLength(1);
    const shutdown = watched(exporter.shutdown());
    await until('shutdown to return', () => shutdown.settled);
    // Well before the 8 s at which retries would end otherwise: the fake clock moved 2 s.
    expect(sink.closed).toBe(true);
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
    const sink = new GatedSink();
    sink.failuresLeft = Infinity;
    const exporter = exporterWith(
      sink,
      { poolSize: 1, exportTimeoutMillis: 500 },
      { replayIntervalMillis: 20 },
    );
    await exportAll(exporter, finishedSpans(1)).first; // spilled
    // The replay of that spill holds the only slot until the next export has given up waiting for it.
    sink.failuresLeft = 0;
    sink.closeGate();
    await until('the replay to hold the write slot', () => sink.concurrent === 1);
    expect((await exportAll(exporter, finishedSpans(1)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(await spillFiles()).toHaveLength(2); // the one being replayed, and the one that gave up
    sink.openGate();
    await until(
      'the replay to empty the spill folder',
      async () => (await spillFiles()).length === 0 && sink.concurrent === 0,
    );
    const writes = sink.writes;
    // Had the slot been lost, this export would wait for one until its deadline, then spill.
    expect((await exportAll(exporter, finishedSpans(1)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(sink.writes).toBe(writes + 1);
    expect(await spillFiles()).toEqual([]);
    await exporter.shutdown();
  });

  it('spills later exports without a write after one ran out of retries, until the sink answers again', async () => {
    const sink = new MemorySink();
    sink.failuresLeft = Infinity;
    const exporter = exporterWith(sink, { exportTimeoutMillis: 400 }, { replayIntervalMillis: 100 });
    await exportAll(exporter, finishedSpans(2)).first; // retried for 320 ms, then spilled
    const writes = sink.writes;
    expect((await exportAll(exporter, finishedSpans(2)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(sink.writes).toBe(writes);
    expect(await spillFiles()).toHaveLength(2);
    sink.failuresLeft = 0; // the replay's health check finds it back, and replays
    await until('the replay to empty the spill folder', async () => (await spillFiles()).length === 0);
    expect((await exportAll(exporter, finishedSpans(2)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(sink.rows).toHaveLength(6);
    expect(await spillFiles()).toHaveLength(0);
    await exporter.shutdown();
  });

  it('spills at once, without a retry, when the settings cannot work, and warns once naming the cause and the spill', async () => {
    const sink = new MisconfiguredSink();
    const exporter = exporterWith(sink, { exportTimeoutMillis: 60_000 });
    expect((await exportAll(exporter, finishedSpans(3)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(sink.writes).toBe(1);
    expect(await spillFiles()).toHaveLength(1);
    // Later exports go to the spill without trying the sink.
    expect((await exportAll(exporter, finishedSpans(2)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(sink.writes).toBe(1);
    expect(await spillFiles()).toHaveLength(2);
    expect(consoleLines).toHaveLength(1);
    expect(consoleLines[0]).toContain('database "nowhere" does not exist (test): create it, or fix the URL');
    expect(consoleLines[0]).toMatch(
      new RegExp(`3 rows spilled to ${spillDir}/spill-.*; later batches go there at once`),
    );
    expect(consoleLines[0]).toMatch(/checked again every 60 s/);
    await exporter.shutdown();
  });

  it('checks settings that did not work again every 60 s, not every 5 s, and replays once they work', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const sink = new MisconfiguredSink();
    const exporter = exporterWith(sink, { exportTimeoutMillis: 60_000 });
    expect((await exportAll(exporter, finishedSpans(3)).first).code).toBe(ExportResultCode.SUCCESS);
    await vi.advanceTimersByTimeAsync(59_999);
    await vi.advanceTimersByTimeAsync(1);
    await until('the first check of the settings', () => sink.healthChecks === 1);
    sink.fixed = true;
    await vi.advanceTimersByTimeAsync(59_999);
    expect(sink.healthChecks).toBe(1); // no pass came at 5 s, nor since
    await vi.advanceTimersByTimeAsync(1);
    await until('the replay once the settings work', async () => (await spillFiles()).length === 0);
    expect(sink.rows).toHaveLength(3);
    // Working again: the next export is written, not spilled.
    expect((await exportAll(exporter, finishedSpans(1)).first).code).toBe(ExportResultCode.SUCCESS);
    expect(sink.rows).toHaveLength(4);
    await exporter.shutdown();
  });

  it('stores the rows of a batch the sink takes and keeps the refused one in the dead-letter folder, warning once per cause', async () => {
    const sink = new RefusingSink('chat refused');
    const exporter = exporterWith(sink);
    const spans = [
      ...finishedSpans(5),
      ...finishedSpans(1, CHAT_ATTRIBUTES, 'chat refused'),
      ...finishedSpans(4),
    ];
    expect((await exportAll(exporter, spans).first).code).toBe(ExportResultCode.SUCCESS);
    expect(sink.rows.map((r) => r.operation_name)).toEqual(Array(9).fill('chat gpt-4o-mini'));
    const deadLetters = await readdir(join(spillDir, 'dead-letter'));
    expect(deadLetters).toHaveLength(1);
    const [, line] = (await readFile(join(spillDir, 'dead-letter', deadLetters[0] as string), 'utf8')).split(
      '\n',
    );
    expect(JSON.parse(line as string)).toMatchObject({
      error: 'check constraint refuses chat refused (test)',
      code: '23514',
      row: { operation_name: 'chat refused' },
    });
    expect(await spillFiles()).toEqual([]);
    const again = [...finishedSpans(1, CHAT_ATTRIBUTES, 'chat refused'), ...finishedSpans(1)];
    expect((await exportAll(exporter, again).first).code).toBe(ExportResultCode.SUCCESS);
    expect(await readdir(join(spillDir, 'dead-letter'))).toHaveLength(2);
    expect(consoleLines).toHaveLength(1);
    expect(consoleLines[0]).toMatch(
      /refused 1 of 10 rows .* the other 9 were stored; the refused row is kept/,
    );
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
