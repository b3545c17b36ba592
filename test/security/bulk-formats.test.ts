/**
 * Every value travels as data: through the one COPY / LOAD DATA encoder, or the
 * driver's escaping for INSERT. Spans whose every text field holds a value
 * built to break out of a bulk format (a tab or newline that would start a new
 * field or row, the `\.` that ends a COPY, `\N` that means NULL, a backslash
 * escape the server would decode, a quote that would end a SQL string and run
 * a DROP TABLE) go through the exporter into each sink; each value comes back
 * exactly as the mapping made it, and a canary table is still there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import { INSERT_COLUMNS, type MetricEvent } from '../../src/schema/columns.js';
import { createDelimitedEncoder } from '../../src/sinks/delimited-text.js';
import type { Sink } from '../../src/sinks/sink.js';
import { importBuilt } from '../support/built-package.js';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { sampleRows } from '../support/sample-rows.js';
import { withForgedRow } from '../spill/forged-row.js';

// The built package, whose Parquet sink can start its worker thread.
const { MetricEventsSpanExporter } = await importBuilt<typeof import('../../src/index.js')>('index.js');
const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');

const canary = uniqueName('canary');

/** Values that end a field, a row, a COPY, a string literal or a statement, or that a server would unescape. */
const PAYLOADS = [
  'tab\there',
  'new\nline',
  'carriage\rreturn',
  'crlf\r\nrow',
  '\\.',
  'before\n\\.\nafter',
  '\\N',
  'N\\',
  'trailing backslash\\',
  '\\\\',
  '\\t\\n\\r',
  '\\x41\\101\\b\\f\\v\\0\\Z',
  "it's",
  "\\'",
  "''",
  `'); DROP TABLE ${canary}; --`,
  `\\'); DROP TABLE ${canary}; -- `,
  `"); DROP TABLE "${canary}"; --`,
  `\`); DROP TABLE \`${canary}\`; --`,
  '$$; DROP TABLE x; $$',
  "E'\\x27'",
  '?, ??, :name, $1, %s, %%',
  '"},"injected":{"',
  '\\u0000 \\ud800',
  'nul\u0000byte',
  'ctrl-z\u001a and escape\u001b',
  'lone \ud800 surrogate',
  '🦙 ünïcödé ﷺ',
];

function payloadSpan(payload: string, index: number): ReadableSpan {
  const traceId = index.toString(16).padStart(32, '0');
  const spanId = (index + 1).toString(16).padStart(16, 'a');
  const context = { traceId, spanId, traceFlags: 1 };
  return {
    name: payload,
    kind: 2,
    spanContext: () => context,
    parentSpanContext: { traceId, spanId: payload, traceFlags: 1 },
    startTime: [1_772_359_200, index * 1_000],
    endTime: [1_772_359_201, 0],
    duration: [1, 0],
    ended: true,
    status: { code: SpanStatusCode.ERROR, message: payload },
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': payload,
      'session.id': payload,
      'error.type': payload,
      [`llamonitor.attr.${payload}`]: payload,
      [`llamonitor.text.${payload}`]: index,
      'gen_ai.output.messages': JSON.stringify([
        { role: 'assistant', parts: [{ type: 'text', content: payload }] },
      ]),
    },
    events: [],
    links: [],
    resource: resourceFromAttributes({ 'service.name': payload }),
    instrumentationScope: { name: payload },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  } as ReadableSpan;
}

/** The columns a payload reaches, as the mapping made them. */
function textColumns(row: MetricEvent) {
  return {
    event_id: row.event_id,
    session_id: row.session_id,
    parent_span_id: row.parent_span_id,
    operation_name: row.operation_name,
    error: row.error,
    error_type: row.error_type,
    text_char_count: row.text_char_count,
    text_custom_metrics: row.text_custom_metrics,
    custom_attributes: row.custom_attributes,
  };
}

interface Target {
  readonly name: string;
  readonly url: string;
  /** Creates the canary table and says whether it still holds its row. */
  readonly canary?: {
    create: () => Promise<void>;
    alive: () => Promise<boolean>;
    drop: (table: string) => Promise<void>;
  };
}

const parquetFolder = mkdtempSync(join(tmpdir(), 'llamonitor-bulk-'));
afterAll(() => rmSync(parquetFolder, { recursive: true, force: true }));

async function postgresQuery(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client(POSTGRES_URL);
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

async function mysqlQuery(sql: string): Promise<unknown[]> {
  const connection = await mysql.createConnection(MYSQL_URL);
  try {
    return (await connection.query(sql))[0] as unknown[];
  } finally {
    await connection.end();
  }
}

const postgresCanary = {
  create: async () =>
    void (await postgresQuery(`CREATE TABLE ${canary} (alive int); INSERT INTO ${canary} VALUES (1)`)),
  alive: async () => (await postgresQuery(`SELECT count(*)::int AS n FROM ${canary}`)).rows[0]?.n === 1,
  drop: async (table: string) =>
    void (await postgresQuery(`DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS ${canary}`)),
};
const mysqlCanary = {
  create: async () => {
    await mysqlQuery(`CREATE TABLE IF NOT EXISTS \`${canary}\` (alive int)`);
    await mysqlQuery(
      `INSERT INTO \`${canary}\` SELECT 1 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM \`${canary}\`)`,
    );
  },
  alive: async () =>
    ((await mysqlQuery(`SELECT count(*) AS n FROM \`${canary}\``))[0] as { n: number }).n === 1,
  drop: async (table: string) => {
    await mysqlQuery(`DROP TABLE IF EXISTS \`${table}\``);
    await mysqlQuery(`DROP TABLE IF EXISTS \`${canary}\``);
  },
};

const TARGETS: Target[] = [
  ...((await postgresAvailable())
    ? [{ name: 'PostgreSQL COPY', url: POSTGRES_URL, canary: postgresCanary }]
    : []),
  ...((await mysqlAvailable())
    ? [
        { name: 'MySQL LOAD DATA', url: MYSQL_URL, canary: mysqlCanary },
        { name: 'MySQL INSERT', url: `${MYSQL_URL}?local-infile=0`, canary: mysqlCanary },
      ]
    : []),
  { name: 'Parquet', url: parquetFolder },
];

describe.each(TARGETS)('values built to break out of $name', (target) => {
  it('are stored as the data they are, and run nothing', async () => {
    const table = uniqueName('bulk');
    await target.canary?.create();
    const spans = PAYLOADS.map(payloadSpan);
    const expected = spans.map((span) => textColumns(toMetricEvent(span, { spans: 'all' })!));
    const exporter = new MetricEventsSpanExporter({
      url: target.url,
      table,
      spans: 'all',
      spillDir: join(parquetFolder, `spill-${table}`),
      exportTimeoutMillis: 10_000,
    });
    let reader: Sink | undefined;
    try {
      const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
      expect(result.error?.message).toBeUndefined();
      expect(result.code).toBe(ExportResultCode.SUCCESS);
      await exporter.forceFlush();
      reader = await createSink(resolveOptions({ url: target.url, table, createTable: false }));
      const stored = await reader.readBack(expected.map((row) => row.event_id));
      const byId = new Map(stored.map((row) => [row.event_id, textColumns(row)]));
      for (const row of expected) expect(byId.get(row.event_id)).toEqual(row);
      expect(stored).toHaveLength(PAYLOADS.length);
      if (target.canary) expect(await target.canary.alive()).toBe(true);
    } finally {
      await exporter.shutdown();
      await reader?.close();
      await target.canary?.drop(table);
    }
  });
});

/**
 * A value of an unexpected type (a string in a numeric or timestamp column, as
 * a hand-edited spill file could hold before fitRow) is escaped all the same:
 * it is one field, never a second row.
 */
const FORGED_EVENT_ID = '00000000-0000-5000-8000-000000000666';

function mistypedRow(dialect: 'postgres' | 'mysql'): MetricEvent {
  const [real, forged] = sampleRows(2, { seed: 'mistyped' });
  const forgedRow = { ...forged, event_id: FORGED_EVENT_ID, session_id: 'forged' } as MetricEvent;
  return withForgedRow(dialect, real as MetricEvent, forgedRow) as unknown as MetricEvent;
}

describe.each(['postgres', 'mysql'] as const)('the %s bulk encoder', (dialect) => {
  it('keeps a string in a numeric or timestamp column inside its field, whatever it holds', () => {
    const row = {
      ...mistypedRow(dialect),
      text_char_count: '1\t2\n3',
      image_total_pixels: '4\\',
      timestamp: '2026-03-01T10:00:00.123456Z\nforged',
    } as unknown as MetricEvent;
    const text = createDelimitedEncoder(INSERT_COLUMNS, dialect)([row]);
    expect(text.split('\n')).toEqual([expect.any(String), '']);
    expect(text.split('\t')).toHaveLength(INSERT_COLUMNS.length);
  });
});

const BULK_SINKS = [
  ...((await postgresAvailable())
    ? [{ name: 'PostgreSQL COPY', url: POSTGRES_URL, dialect: 'postgres' as const }]
    : []),
  ...((await mysqlAvailable())
    ? [{ name: 'MySQL LOAD DATA', url: MYSQL_URL, dialect: 'mysql' as const }]
    : []),
];

describe.each(BULK_SINKS)(
  '$name given a row whose number column holds a string forging a second row',
  (target) => {
    it('stores no second row: the server refuses the value as a number', async () => {
      const table = uniqueName('mistyped');
      const sink = await createSink(resolveOptions({ url: target.url, table }));
      try {
        await sink.prepare();
        const row = mistypedRow(target.dialect);
        await expect(sink.write([row])).rejects.toThrow();
        expect(await sink.readBack([FORGED_EVENT_ID, row.event_id])).toEqual([]);
      } finally {
        await sink.close();
        if (target.dialect === 'postgres') await postgresQuery(`DROP TABLE IF EXISTS ${table}`);
        else await mysqlQuery(`DROP TABLE IF EXISTS \`${table}\``);
      }
    });
  },
);
