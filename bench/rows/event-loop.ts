/**
 * event_loop_p99_ms_<sink> and event_loop_max_ms_<sink>: the application's
 * event-loop delay while spans flow through a BatchSpanProcessor into the
 * exporter at a steady rate (5,000 spans/s), sampled by
 * perf_hooks.monitorEventLoopDelay at 1 ms resolution. The reference is the
 * same flow into a BatchSpanProcessor whose exporter does nothing, measured
 * just before in this process: what the application and the SDK cost alone.
 * Afterwards, every row must have arrived.
 *
 * With `metrics`, the exporter also records the GenAI metrics and serves them
 * for Prometheus (metrics: 'prometheus'), and a scraper in another process
 * fetches /metrics every second, as Prometheus would: the rows are named
 * event_loop_*_<sink>_metrics.
 *
 *   bench/rows/event-loop.ts <settings-json> parquet|postgres|mysql [metrics]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { parquetMetadata } from 'hyparquet';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { row } from '../report.js';
import { built, llamonitor } from '../support/built.js';
import { progress, runGroup } from '../support/child.js';
import { DiagnosticLog, spilledRows } from '../support/diagnostics.js';
import { NoopExporter, steadyFlow, TimedExporter } from '../support/steady-flow.js';
import { visibleParquetFiles } from '../../test/support/parquet-readers.js';
import { freePort } from '../../test/support/prometheus.js';

const { DEFAULT_MAX_QUEUE_SIZE } =
  await built<typeof import('../../src/export/processor.js')>('export/processor.js');

type SinkName = 'parquet' | 'postgres' | 'mysql';

runGroup(async (settings, args) => {
  const sink = args[0] as SinkName;
  if (!['parquet', 'postgres', 'mysql'].includes(sink)) throw new Error(`no sink "${sink}"`);
  const withMetrics = args[1] === 'metrics';
  const suffix = withMetrics ? `${sink}_metrics` : sink;
  const folder = mkdtempSync(join(tmpdir(), `llamonitor-bench-loop-${sink}-`));
  const table = `llamonitor_loop_${process.pid}`;
  const url =
    sink === 'postgres' ? settings.postgresUrl : sink === 'mysql' ? settings.mysqlUrl : join(folder, 'data');
  const mapsToRow = (span: ReadableSpan) => llamonitor.toMetricEvent(span) !== undefined;
  let stored: () => Promise<number>;
  let drop: () => Promise<void>;
  if (sink === 'postgres') {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    stored = async () =>
      Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`)).rows[0]?.n);
    drop = async () => {
      await admin.query(`DROP TABLE IF EXISTS "${table}"`);
      await admin.end();
    };
  } else if (sink === 'mysql') {
    const admin = await mysql.createConnection({ uri: url });
    stored = async () => {
      const [counted] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
      return Number(counted[0]?.n);
    };
    drop = async () => {
      await admin.query(`DROP TABLE IF EXISTS \`${table}\``);
      await admin.end();
    };
  } else {
    stored = () =>
      Promise.resolve(
        visibleParquetFiles(join(url, table)).reduce((sum, path) => {
          const bytes = readFileSync(join(url, table, path));
          return (
            sum +
            Number(
              parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)).num_rows,
            )
          );
        }, 0),
      );
    drop = () => Promise.resolve();
  }
  try {
    progress(
      `event loop, ${suffix}: reference (an exporter that does nothing), ${settings.loopReferenceSeconds} s`,
    );
    const reference = await steadyFlow(
      new NoopExporter(),
      settings.spansPerSecond,
      settings.loopReferenceSeconds,
      mapsToRow,
    );
    const log = new DiagnosticLog().install();
    const spillDir = join(folder, 'spill');
    const port = withMetrics ? await freePort() : 0;
    const exporter = new llamonitor.MetricEventsSpanExporter({
      url,
      table,
      spillDir,
      ...(withMetrics ? { metrics: 'prometheus', prometheusPort: port } : {}),
    });
    await exporter.ready(); // the table created before the flow, as in an application that has run before
    // Prometheus's part, from another process: a scrape of the endpoint every second.
    const scraper = withMetrics
      ? spawn(
          process.execPath,
          [
            '-e',
            `setInterval(() => fetch('http://127.0.0.1:${port}/metrics').then((r) => r.text(), () => ''), 1000)`,
          ],
          { stdio: 'ignore' },
        )
      : undefined;
    progress(`event loop, ${suffix}: ${settings.spansPerSecond} spans/s for ${settings.loopSeconds} s`);
    const timed = new TimedExporter(exporter);
    // The queue MetricEventsSpanProcessor (and the register entry) gives its BatchSpanProcessor.
    const flow = await steadyFlow(timed, settings.spansPerSecond, settings.loopSeconds, mapsToRow, {
      maxQueueSize: DEFAULT_MAX_QUEUE_SIZE,
    });
    scraper?.kill();
    await exporter.shutdown();
    const exportMillis = [...timed.millis].sort((a, b) => a - b);
    const slowest = exportMillis.at(-1) ?? 0;
    const p99Export = exportMillis[Math.floor(exportMillis.length * 0.99)] ?? 0;
    const medianExport = exportMillis[Math.floor(exportMillis.length / 2)] ?? 0;
    const rows = await stored();
    const spilled = spilledRows(spillDir);
    for (const message of log.messages) progress(`event loop, ${suffix}: ${message}`);
    progress(
      `event loop, ${suffix}: p99 ${flow.p99Millis.toFixed(1)} ms, max ${flow.maxMillis.toFixed(1)} ms ` +
        `(reference p99 ${reference.p99Millis.toFixed(1)}, max ${reference.maxMillis.toFixed(1)}); ` +
        `GC pauses over 5 ms ${flow.gcPausesOver5Millis} (reference ${reference.gcPausesOver5Millis}), ` +
        `longest ${flow.longestGcMillis.toFixed(1)} ms (reference ${reference.longestGcMillis.toFixed(1)}); ` +
        `${rows} of ${flow.rows} rows stored, ${spilled.rows} spilled, ${log.droppedSpans} spans dropped by BatchSpanProcessor; ` +
        `${exportMillis.length} exports answered in a median ${medianExport.toFixed(0)} ms, p99 ${p99Export.toFixed(0)} ms, slowest ${slowest.toFixed(0)} ms`,
    );
    // Rows lost (BatchSpanProcessor drops spans when its queue is full) fail the row: a quiet loop bought with lost rows is no pass.
    const arrived =
      rows === flow.rows
        ? `all ${rows} rows arrived`
        : `ONLY ${rows} OF ${flow.rows} ROWS ARRIVED (fails the row: ${log.droppedSpans} spans dropped by BatchSpanProcessor's full queue, ${spilled.rows} rows spilled)`;
    const metricsNote = withMetrics
      ? `; metrics on (metrics 'prometheus'), its endpoint scraped every second by another process`
      : '';
    const note = `${flow.spans} spans (${flow.rows} rows) at ${settings.spansPerSecond}/s for ${settings.loopSeconds} s through a BatchSpanProcessor with MetricEventsSpanProcessor's queue (${DEFAULT_MAX_QUEUE_SIZE} spans) into the exporter, ${arrived}; GC pauses over 5 ms: ${flow.gcPausesOver5Millis}; exports answered in a median ${medianExport.toFixed(0)} ms, p99 ${p99Export.toFixed(0)} ms, slowest ${slowest.toFixed(0)} ms (one at a time: the queue lasts ${(DEFAULT_MAX_QUEUE_SIZE / settings.spansPerSecond).toFixed(1)} s); reference: the same flow into an exporter that does nothing${metricsNote}`;
    const p99 = row({
      name: `event_loop_p99_ms_${suffix}`,
      value: flow.p99Millis,
      unit: 'ms',
      reference: reference.p99Millis,
      ratio: null,
      target: 'value <= 10',
      note,
    });
    return [
      rows === flow.rows ? p99 : { ...p99, pass: false },
      row({
        name: `event_loop_max_ms_${suffix}`,
        value: flow.maxMillis,
        unit: 'ms',
        reference: reference.maxMillis,
        ratio: null,
        target: 'none',
        note: 'the longest single delay in the same flow (reported; the target is on p99)',
      }),
    ];
  } finally {
    await drop();
    rmSync(folder, { recursive: true, force: true });
  }
});
