/**
 * The exporter's hourly retention run (`retentionDays`), its lifecycle on the
 * memory sink: when it runs, what it asks the sink, what a held lease and a
 * failing store do, and that shutdown stops it. What each real store removes
 * is test/sinks/retention.test.ts's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { DAY_MILLIS, type RunTiming } from '../../src/export/maintenance-runs.js';
import { ConsoleWarnings } from '../../src/warnings.js';
import { MemorySink } from '../support/memory-sink.js';
import { sampleRow } from '../support/sample-rows.js';

let spillDir: string;
let lines: string[];

beforeEach(async () => {
  spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-retention-'));
  lines = [];
});
afterEach(async () => {
  await rm(spillDir, { recursive: true, force: true });
});

const FAST: RunTiming = { firstDelayMillis: 1, intervalMillis: 20 };

function exporterOf(sink: MemorySink, retentionDays: number | undefined, timing: RunTiming = FAST) {
  const warnings = new ConsoleWarnings(true, (line) => lines.push(line), new Set());
  return MetricEventsSpanExporter.withSink(
    sink,
    { spillDir, ...(retentionDays === undefined ? {} : { retentionDays }) },
    { warnings, retentionTiming: timing },
  );
}

const isoAgo = (millis: number) => new Date(Date.now() - millis).toISOString().replace('Z', '000Z');

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('retentionDays', () => {
  it('is off by default: no prune is ever asked for', async () => {
    const sink = new MemorySink();
    const exporter = exporterOf(sink, undefined);
    expect(exporter.retention).toBeUndefined();
    await new Promise((r) => setTimeout(r, 60));
    await exporter.shutdown();
    expect(sink.prunes).toEqual([]);
  });

  it('removes the rows older than the retention, then again every interval', async () => {
    const sink = new MemorySink();
    const old = sampleRow(1, { timestamp: isoAgo(31 * DAY_MILLIS) });
    const kept = sampleRow(2, { timestamp: isoAgo(29 * DAY_MILLIS) });
    sink.rows.push(old, kept);
    const exporter = exporterOf(sink, 30);
    await until(() => sink.prunes.length >= 3, 'three prunes');
    await exporter.shutdown();
    expect(sink.rows.map((r) => r.event_id)).toEqual([kept.event_id]);
    const first = sink.prunes[0]!;
    expect(first.dryRun).toBe(false);
    // The cutoff is 30 days back from the moment of the run.
    expect(Math.abs(first.before.getTime() - (Date.now() - 30 * DAY_MILLIS))).toBeLessThan(60_000);
    expect(lines).toEqual([]);
  });

  it('skips its turn quietly while another run holds the lease, and tries again at the next', async () => {
    const sink = new MemorySink();
    sink.maintenanceBusy = true;
    sink.rows.push(sampleRow(1, { timestamp: isoAgo(40 * DAY_MILLIS) }));
    const exporter = exporterOf(sink, 30);
    await until(() => sink.prunes.length >= 2, 'two prunes');
    expect(sink.rows).toHaveLength(1);
    sink.maintenanceBusy = false;
    await until(() => sink.rows.length === 0, 'the old row removed');
    await exporter.shutdown();
    expect(lines).toEqual([]);
  });

  it('a store that fails the prune is one warning naming the variable and the command, and rows are still written', async () => {
    const sink = new MemorySink();
    sink.prune = async (request) => {
      sink.prunes.push(request);
      throw new Error('permission denied for table metric_events');
    };
    const exporter = exporterOf(sink, 7);
    await until(() => sink.prunes.length >= 3, 'three prunes');
    await new Promise<void>((resolve, reject) =>
      exporter.export([], (result) => (result.code === 0 ? resolve() : reject(result.error))),
    );
    await exporter.shutdown();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      'could not remove the rows older than 7 days (LLAMONITOR_RETENTION_DAYS) from memory://test: permission denied for table metric_events',
    );
    expect(lines[0]).toContain('llamonitor prune --older-than 7d');
  });

  it('shutdown stops the run in progress between two batches and waits for it before closing the sink', async () => {
    const sink = new MemorySink();
    const order: string[] = [];
    let seenSignal: AbortSignal | undefined;
    sink.prune = async (request) => {
      sink.prunes.push(request);
      seenSignal = request.signal;
      order.push('prune started');
      while (!request.signal?.aborted) await new Promise((r) => setTimeout(r, 5));
      order.push('prune saw the abort');
      return { rows: 0, partitions: [], stoppedEarly: true };
    };
    const close = sink.close.bind(sink);
    sink.close = async () => {
      order.push('sink closed');
      await close();
    };
    const exporter = exporterOf(sink, 30, { firstDelayMillis: 1, intervalMillis: 3_600_000 });
    await until(() => order.length > 0, 'the prune to start');
    await exporter.shutdown();
    expect(seenSignal?.aborted).toBe(true);
    expect(order).toEqual(['prune started', 'prune saw the abort', 'sink closed']);
    const prunes = sink.prunes.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(sink.prunes).toHaveLength(prunes);
  });

  it('LLAMONITOR_RETENTION_DAYS is read, and a value that is not a whole number of days stops start-up', () => {
    const sink = new MemorySink();
    const fromEnv = MetricEventsSpanExporter.fromEnv(
      { spillDir: join(spillDir, 'spill') },
      { LLAMONITOR_URL: join(spillDir, 'data'), LLAMONITOR_RETENTION_DAYS: '90' },
    );
    expect(fromEnv.resolvedOptions.retentionDays).toBe(90);
    void fromEnv.shutdown();
    expect(() =>
      MetricEventsSpanExporter.fromEnv({ spillDir }, { LLAMONITOR_RETENTION_DAYS: '30d' }),
    ).toThrow('LLAMONITOR_RETENTION_DAYS=30d is not allowed: use a whole number from 0 to 36500');
    expect(() => exporterOf(sink, -1)).toThrow('retentionDays=-1 is not allowed');
  });
});
