/**
 * serve_summary_1m_rows_ms_<store> / serve_timeseries_1m_rows_ms_<store>:
 * `llamonitor serve`'s two aggregate endpoints over a million rows spread over
 * 30 days (1,000 sessions, 5 models, 5% failed, 60% streamed), in a table the
 * sink created with its indexes: GET /api/summary?by=model and GET
 * /api/timeseries?bucket=1h (720 buckets) over the 30 days, through the HTTP
 * server, the median of the rounds after one warm-up. Targets: under 1 s on
 * PostgreSQL and on Parquet (DuckDB); MariaDB reported (its percentiles are
 * window functions). The rows are made by the store itself (generate_series,
 * MariaDB's sequence engine, DuckDB's COPY … PARTITION_BY into the dataset's
 * date= folders): the rows measure reading, not writing. --quick: 100,000 rows.
 *
 * serve_live_delay_ms_<store>: a client follows /api/live (Server-Sent Events,
 * the default look once a second) while rows are written one at a time through
 * the sink at uneven intervals; the delay from each write's resolving to its
 * row's arrival, median (the max in the note). Target: 2 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { row, type BenchRow } from '../report.js';
import type { MetricEvent } from '../support/built.js';
import { built } from '../support/built.js';
import { progress, runGroup } from '../support/child.js';
import { median, spreadOf } from '../support/stats.js';
import { readServerSentEvents } from '../../test/support/server-sent-events.js';

const { createSink } = await built<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } = await built<typeof import('../../src/config/options.js')>('config/options.js');
const { startServer } = await built<typeof import('../../src/serve/server.js')>('serve/server.js');
const { SCHEMA_VERSION } = await built<typeof import('../../src/schema/columns.js')>('schema/columns.js');
const { fitRow } = await built<typeof import('../../src/schema/fit-row.js')>('schema/fit-row.js');
const LIVE_ROWS = 12;

const DAYS = 30;
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-pro', 'house-llm'];

type Store = 'postgres' | 'mysql' | 'parquet';

/** Makes `rows` rows over the `DAYS` days before now in the table or dataset the sink prepared. */
async function fill(store: Store, url: string, table: string, rows: number): Promise<void> {
  const seconds = (DAYS * 86_400) / rows;
  const models = `ARRAY[${MODELS.map((m) => `'${m}'`).join(', ')}]`;
  if (store === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO "${table}" (event_id, schema_version, session_id, trace_id, span_id, operation_name, operation_type,
           "timestamp", duration_ms, model, provider, input_tokens, output_tokens, cache_read_tokens, cost_usd,
           time_to_first_token_ms, error, user_id, service_name)
         SELECT md5(i::text)::uuid, '${SCHEMA_VERSION}', 'session-' || (i % 1000), lpad(to_hex(i), 32, '0'),
                lpad(to_hex(i), 16, '0'), 'chat', 'llm_call', now() - i * interval '${seconds} seconds',
                100 + (i * 7919) % 3000, (${models})[1 + i % 5], 'openai', 100 + i % 2000, 10 + i % 500,
                CASE WHEN i % 3 = 0 THEN i % 1000 END, CASE WHEN i % 5 <> 4 THEN (i % 997) / 1e5 END,
                CASE WHEN i % 5 < 3 THEN 50 + (i * 31) % 900 END, CASE WHEN i % 20 = 0 THEN 'boom' END,
                'user-' || (i % 50), 'bench'
           FROM generate_series(1::bigint, ${rows}::bigint) AS i`,
      );
      await client.query(`ANALYZE "${table}"`);
    } finally {
      await client.end();
    }
  } else if (store === 'mysql') {
    const connection = await mysql.createConnection({ uri: url });
    try {
      const pick = `ELT(1 + seq % 5, ${MODELS.map((m) => `'${m}'`).join(', ')})`;
      await connection.query(
        `INSERT INTO \`${table}\` (event_id, schema_version, session_id, trace_id, span_id, operation_name, operation_type,
           \`timestamp\`, duration_ms, model, provider, input_tokens, output_tokens, cache_read_tokens, cost_usd,
           time_to_first_token_ms, error, user_id, service_name)
         SELECT INSERT(INSERT(INSERT(INSERT(MD5(seq), 9, 0, '-'), 14, 0, '-'), 19, 0, '-'), 24, 0, '-'),
                '${SCHEMA_VERSION}', CONCAT('session-', seq % 1000), LPAD(HEX(seq), 32, '0'), LPAD(HEX(seq), 16, '0'),
                'chat', 'llm_call', UTC_TIMESTAMP(6) - INTERVAL ROUND(seq * ${seconds * 1e6}) MICROSECOND,
                100 + (seq * 7919) % 3000, ${pick}, 'openai', 100 + seq % 2000, 10 + seq % 500,
                IF(seq % 3 = 0, seq % 1000, NULL), IF(seq % 5 <> 4, (seq % 997) / 1e5, NULL),
                IF(seq % 5 < 3, 50 + (seq * 31) % 900, NULL), IF(seq % 20 = 0, 'boom', NULL),
                CONCAT('user-', seq % 50), 'bench'
           FROM seq_1_to_${rows}`,
      );
      await connection.query(`ANALYZE TABLE \`${table}\``);
    } finally {
      await connection.end();
    }
  } else {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    try {
      await connection.run(
        `COPY (SELECT *, strftime("timestamp" AT TIME ZONE 'UTC', '%Y-%m-%d') AS date FROM (
           SELECT uuid() AS event_id, '${SCHEMA_VERSION}' AS schema_version, 'session-' || (i % 1000) AS session_id,
                  lpad(to_hex(i), 32, '0') AS trace_id, lpad(to_hex(i), 16, '0') AS span_id, NULL::VARCHAR AS parent_span_id,
                  'chat' AS operation_name, 'llm_call' AS operation_type,
                  (now() - to_microseconds(CAST(i * ${seconds * 1e6} AS BIGINT)))::TIMESTAMPTZ AS "timestamp",
                  (100 + (i * 7919) % 3000)::DOUBLE AS duration_ms, (${models})[1 + i % 5] AS model, 'openai' AS provider,
                  (100 + i % 2000)::INTEGER AS input_tokens, (10 + i % 500)::INTEGER AS output_tokens,
                  CASE WHEN i % 3 = 0 THEN (i % 1000)::INTEGER END AS cache_read_tokens, NULL::INTEGER AS cache_write_tokens,
                  NULL::INTEGER AS reasoning_tokens,
                  CASE WHEN i % 5 <> 4 THEN (i % 997) / 1e5 END AS cost_usd,
                  CASE WHEN i % 5 < 3 THEN (50 + (i * 31) % 900)::DOUBLE END AS time_to_first_token_ms,
                  NULL::VARCHAR AS finish_reason, CASE WHEN i % 20 = 0 THEN 'boom' END AS error, NULL::VARCHAR AS error_type,
                  'user-' || (i % 50) AS user_id, 'bench' AS service_name,
                  NULL::VARCHAR AS text_custom_metrics, NULL::VARCHAR AS custom_attributes
             FROM range(1, ${rows + 1}) AS t(i)))
         TO '${join(url, table)}' (FORMAT PARQUET, PARTITION_BY (date), OVERWRITE_OR_IGNORE)`,
      );
    } finally {
      connection.closeSync();
    }
  }
}

/** A row of a call that has just ended. */
function liveRow(n: number): MetricEvent {
  const hex = `${process.pid.toString(16)}${n.toString(16).padStart(6, '0')}`;
  return fitRow({
    event_id: `00000000-0000-5000-8000-${hex.padStart(12, '0').slice(-12)}`,
    schema_version: SCHEMA_VERSION,
    session_id: 'live',
    trace_id: hex.padStart(32, 'f'),
    span_id: hex.padStart(16, 'f'),
    parent_span_id: null,
    operation_name: 'chat gpt-4o',
    operation_type: 'llm_call',
    timestamp: new Date(Date.now() - 800).toISOString().replace('Z', '000Z'),
    duration_ms: 800,
    model: 'gpt-4o',
    input_tokens: 20,
    output_tokens: 5,
  });
}

/** Milliseconds from each write resolving to its row's arrival on /api/live. */
async function liveDelays(base: string, write: (rows: MetricEvent[]) => Promise<void>): Promise<number[]> {
  const controller = new AbortController();
  const arrived = new Map<string, number>();
  let ready = false;
  const response = await fetch(`${base}/api/live`, { signal: controller.signal });
  const reading = readServerSentEvents(response.body as AsyncIterable<Uint8Array>, (event, data) => {
    if (event === 'ready') ready = true;
    if (event !== 'calls') return;
    const { calls } = JSON.parse(data) as { calls: { event_id: string }[] };
    for (const call of calls) arrived.set(call.event_id, performance.now());
  }).catch(() => undefined);
  const wait = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));
  for (let waited = 0; !ready; waited += 20) {
    if (waited > 30_000) throw new Error('/api/live sent no ready event within 30 s');
    await wait(20);
  }
  const delays: number[] = [];
  for (let n = 0; n < LIVE_ROWS; n++) {
    const live = liveRow(n);
    await write([live]);
    const written = performance.now();
    for (let waited = 0; !arrived.has(live.event_id); waited += 10) {
      if (waited > 30_000) throw new Error(`row ${n} did not arrive on /api/live within 30 s`);
      await wait(10);
    }
    delays.push(arrived.get(live.event_id)! - written);
    await wait(200 + ((n * 397) % 1100));
  }
  controller.abort();
  await reading;
  return delays;
}

runGroup(async (settings, args): Promise<BenchRow[]> => {
  const store = args[0] as Store;
  const quick = settings.rows < 100_000;
  const rows = quick ? 100_000 : 1_000_000;
  const table = `bench_serve_${process.pid}`;
  const folder = store === 'parquet' ? mkdtempSync(join(tmpdir(), 'llamonitor-bench-serve-')) : undefined;
  const url = folder ?? (store === 'postgres' ? settings.postgresUrl : settings.mysqlUrl);
  const sink = await createSink(resolveOptions({ url, table }));
  try {
    await sink.prepare();
    progress(`serve ${store}: making ${rows.toLocaleString('en-US')} rows over ${DAYS} days`);
    await fill(store, url, table, rows);
    const queries = sink.callQueries();
    const server = await startServer({ host: '127.0.0.1', port: 0, queries, target: store });
    try {
      const from = new Date(Date.now() - DAYS * 86_400_000).toISOString();
      const time = async (
        path: string,
      ): Promise<{ millis: number; body: { groups?: unknown[]; points?: unknown[] } }> => {
        const start = performance.now();
        const response = await fetch(`${server.url}${path}`);
        const body = (await response.json()) as { groups?: unknown[]; points?: unknown[]; error?: string };
        if (!response.ok) throw new Error(`${path}: ${response.status} ${body.error}`);
        return { millis: performance.now() - start, body };
      };
      const measure = async (path: string) => {
        const warm = await time(path);
        const millis: number[] = [];
        for (let round = 0; round < settings.rounds; round++) millis.push((await time(path)).millis);
        return { millis, body: warm.body };
      };
      progress(`serve ${store}: timing the endpoints, ${settings.rounds} rounds`);
      const summary = await measure(`/api/summary?from=${from}&by=model`);
      const series = await measure(`/api/timeseries?from=${from}&bucket=1h`);
      progress(`serve ${store}: the live stream's delay over ${LIVE_ROWS} rows`);
      const delays = await liveDelays(server.url, (rows) => sink.write(rows));
      const target = store === 'mysql' ? 'none' : 'value <= 1000';
      const scale = `${rows.toLocaleString('en-US')} rows over ${DAYS} days`;
      return [
        row({
          name: `serve_summary_1m_rows_ms_${store}`,
          value: median(summary.millis),
          unit: 'ms',
          reference: null,
          ratio: null,
          target,
          spread: spreadOf(summary.millis),
          note: `GET /api/summary?by=model (${summary.body.groups?.length} groups: calls, errors, tokens, cost, p50/p95/p99 latency, p50/p95 time to first token) over ${scale}${store === 'mysql' ? '; reported: percentiles by window functions' : ''}`,
        }),
        row({
          name: `serve_timeseries_1m_rows_ms_${store}`,
          value: median(series.millis),
          unit: 'ms',
          reference: null,
          ratio: null,
          target,
          spread: spreadOf(series.millis),
          note: `GET /api/timeseries?bucket=1h (${series.body.points?.length} buckets, the same aggregates each) over ${scale}`,
        }),
        row({
          name: `serve_live_delay_ms_${store}`,
          value: median(delays),
          unit: 'ms',
          reference: null,
          ratio: null,
          target: 'value <= 2000',
          spread: spreadOf(delays),
          note: `/api/live over Server-Sent Events, one look a second: from a row's write resolving to its arrival, ${LIVE_ROWS} rows written one at a time 0.2–1.3 s apart (max ${Math.max(...delays).toFixed(0)} ms)${store === 'parquet' ? '; rows found in the write-ahead log' : '; rows found by created_at'}`,
        }),
      ];
    } finally {
      await server.close();
      await queries.close();
    }
  } finally {
    await sink.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
    else if (store === 'postgres') {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP TABLE IF EXISTS "${table}"`);
      await client.end();
    } else {
      const connection = await mysql.createConnection({ uri: url });
      await connection.query(`DROP TABLE IF EXISTS \`${table}\``);
      await connection.end();
    }
  }
});
