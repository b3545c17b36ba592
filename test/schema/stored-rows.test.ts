/**
 * fitRow is the one validation of every row a sink gets: the rows it lets
 * through are stored by real PostgreSQL and MariaDB servers, JSON depth
 * included, whether the mapping built them from a hand-built span or a
 * user's `enrich` hook changed them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EnrichHook } from '../../src/config/options.js';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import { MySqlSink } from '../../src/sinks/mysql/index.js';
import { PostgresSink } from '../../src/sinks/postgres/index.js';
import type { Sink } from '../../src/sinks/sink.js';
import { loadCapturedSpans } from '../support/captured-span.js';
import { POSTGRES_URL, mysqlAvailable, postgresAvailable, uniqueName } from '../support/databases.js';
import { finishedSpans } from '../support/spans.js';
import { mysqlUrl, openInspector, readRows as readMySqlRows } from '../sinks/mysql-support.js';
import { readRows as readPostgresRows, useOwnSchema } from '../sinks/postgres-support.js';

const postgres = await postgresAvailable();
const mariadb = await mysqlAvailable();

/** The most levels of nesting MariaDB's JSON_VALID accepts (it refuses 32). */
const MARIADB_JSON_LEVELS = 31;

/** Levels of nesting of a JSON value, a container counting one. */
function jsonDepth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const items = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...items.map(jsonDepth));
}

/** `{a: {a: ... {a: 1}}}`, `levels` objects deep. */
function nested(levels: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value as Record<string, unknown>;
}

/**
 * A chat span (the contrib OpenAI instrumentation's) whose code set a
 * `llamonitor.text.*` value the SDK would not take: an object nested 40 deep.
 */
function spanWithNestedUserMetric(): ReadableSpan {
  const span = loadCapturedSpans('contrib-openai', 'chat')[0]!;
  (span.attributes as Record<string, unknown>)['llamonitor.text.plan'] = nested(40);
  return span;
}

/** Enrich hooks by span index: each returns one kind of bad value (the last leaves the row alone). */
const BAD_ENRICHMENTS: readonly ((event: MetricEvent) => Record<string, unknown>)[] = [
  (event) => ({ ...event, event_id: 'not-a-uuid' }),
  (event) => ({ ...event, session_id: 42 }),
  (event) => ({ ...event, error_type: 42 }),
  (event) => ({ ...event, operation_name: `chat ${'x'.repeat(1000)}` }),
  (event) => ({ ...event, custom_attributes: nested(40) }),
  (event) => event,
];

interface StoredRows {
  write(rows: MetricEvent[]): Promise<void>;
  sink(): Sink;
  read(): Promise<MetricEvent[]>;
}

/** Exports the spans through a real exporter whose enrich hook returns the bad values above. */
async function exportWithBadEnrich(sink: Sink, spans: readonly ReadableSpan[]): Promise<ExportResult> {
  const spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-enrich-'));
  const index = new Map(spans.map((span, i) => [span.spanContext().spanId, i]));
  const enrich: EnrichHook = (span, event) =>
    BAD_ENRICHMENTS[index.get(span.spanContext().spanId)!]!(event) as unknown as MetricEvent;
  // A short deadline: a batch the store refuses then ends quickly (in the spill) instead of in 30 s.
  const exporter = MetricEventsSpanExporter.withSink(sink, { spillDir, enrich, exportTimeoutMillis: 2_000 });
  try {
    return await new Promise<ExportResult>((resolve) => exporter.export([...spans], resolve));
  } finally {
    await rm(spillDir, { recursive: true, force: true });
  }
}

function storesEveryRowAsFitRowLeftIt(store: () => StoredRows): void {
  it('stores a llamonitor.text.* object nested 40 deep, cut to 31 levels from the column’s root', async () => {
    const row = toMetricEvent(spanWithNestedUserMetric())!;
    await store().write([row]);
    const [stored] = await store().read();
    expect(jsonDepth(stored!.text_custom_metrics)).toBe(MARIADB_JSON_LEVELS);
    expect(stored!.text_custom_metrics).toMatchObject({
      input_tokens: 23,
      invalid_values: { 'llamonitor.text.plan': 1 },
    });
  });

  it('stores every row of a batch whose enrich hook returned bad values, each as documented', async () => {
    const spans = finishedSpans(BAD_ENRICHMENTS.length);
    const mapped = spans.map((span) => toMetricEvent(span)!);
    const result = await exportWithBadEnrich(store().sink(), spans);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    const bySpan = new Map((await store().read()).map((row) => [row.span_id, row]));
    const stored = mapped.map((row) => bySpan.get(row.span_id));
    // event_id 'not-a-uuid' and a number for session_id (NOT NULL): refused, the mapped row stored instead.
    expect(stored[0]).toMatchObject({ event_id: mapped[0]!.event_id });
    expect(stored[1]).toMatchObject({ event_id: mapped[1]!.event_id, session_id: mapped[1]!.session_id });
    // A number for error_type (nullable): null, counted.
    expect(stored[2]).toMatchObject({ error_type: null });
    expect(stored[2]!.text_custom_metrics).toMatchObject({ invalid_values: { error_type: 1 } });
    // An over-long string: cut to its column.
    expect(stored[3]!.operation_name).toBe(`chat ${'x'.repeat(250)}`);
    // An object nested 40 deep: 31 levels, counted.
    expect(jsonDepth(stored[4]!.custom_attributes)).toBe(MARIADB_JSON_LEVELS);
    expect(stored[4]!.text_custom_metrics).toMatchObject({ invalid_values: { custom_attributes: 1 } });
    expect(stored[5]).toMatchObject({ event_id: mapped[5]!.event_id });
  });
}

describe.runIf(postgres)('rows fitRow let through, stored by PostgreSQL', () => {
  const db = useOwnSchema();
  let current: { sink: PostgresSink; tableSql: string } | undefined;

  async function freshTable(): Promise<void> {
    const table = uniqueName('fit');
    const sink = new PostgresSink(POSTGRES_URL, { schema: db.schema, table, poolSize: 2, createTable: true });
    db.sinks.push(sink);
    await sink.prepare();
    current = { sink, tableSql: `"${db.schema}"."${table}"` };
  }

  const store = (): StoredRows => ({
    write: (rows) => current!.sink.write(rows),
    sink: () => current!.sink,
    read: () => readPostgresRows(db.admin, current!.tableSql),
  });

  describe('each on a table of its own', () => {
    beforeEach(freshTable);
    storesEveryRowAsFitRowLeftIt(store);
  });
});

describe.runIf(mariadb)('rows fitRow let through, stored by MariaDB', () => {
  let inspector: mysql.Connection;
  const sinks: MySqlSink[] = [];
  const tables: string[] = [];
  let current: { sink: MySqlSink; table: string } | undefined;

  beforeAll(async () => {
    inspector = await openInspector();
  });
  afterAll(async () => {
    await Promise.all(sinks.map((sink) => sink.close()));
    for (const table of tables) await inspector.query(`DROP TABLE IF EXISTS \`${table}\``);
    await inspector.end();
  });

  async function freshTable(): Promise<void> {
    const table = uniqueName('fit');
    tables.push(table);
    const sink = new MySqlSink(mysqlUrl(), { table, poolSize: 2, createTable: true });
    sinks.push(sink);
    await sink.prepare();
    current = { sink, table };
  }

  const store = (): StoredRows => ({
    write: (rows) => current!.sink.write(rows),
    sink: () => current!.sink,
    read: async () =>
      (await readMySqlRows(inspector, current!.table)).map((row) => row as unknown as MetricEvent),
  });

  describe('each on a table of its own', () => {
    beforeEach(freshTable);
    storesEveryRowAsFitRowLeftIt(store);
  });
});
