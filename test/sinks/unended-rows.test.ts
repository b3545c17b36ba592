/**
 * The row of a span never ended gives way to the span's real row, should it
 * end after all, in each real store: PostgreSQL and MariaDB replace it (and a
 * row stored twice is otherwise still stored once); Parquet keeps both, and
 * the query docs/instrumentations.md gives keeps the real one. Rows come from
 * the real mapping of spans of a real tracer: the copy the processor hands on
 * (open-calls.ts endedCopy) and the span itself once ended.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicTracerProvider, type ReadableSpan, type Span } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricEvent } from '../../src/schema/columns.js';
import type { Sink } from '../../src/sinks/sink.js';
import { importBuilt } from '../support/built-package.js';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { REPO } from '../support/child-process.js';
import { queryDataset } from '../support/parquet-readers.js';

// The built package: the Parquet sink converts its files in a worker thread that runs dist/.
const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');
const { toMetricEvent } = await importBuilt<typeof import('../../src/index.js')>('index.js');
const { endedCopy } =
  await importBuilt<typeof import('../../src/export/open-calls.js')>('export/open-calls.js');

const tracer = new BasicTracerProvider().getTracer('@traceloop/instrumentation-openai');
let calls = 0;

/** One chat call: the row written while its span was open, and the row of the span once ended. */
function chatCall(): { unended: MetricEvent; real: MetricEvent } {
  calls++;
  const span = tracer.startSpan(`chat gpt-4o-mini`, {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'traceloop.association.properties.session_id': `session-${calls}`,
    },
  }) as Span;
  const unended = toMetricEvent(endedCopy(span, Date.now()))!;
  span.setAttributes({ 'gen_ai.usage.input_tokens': 12, 'gen_ai.usage.output_tokens': 3 });
  span.end();
  return { unended, real: toMetricEvent(span as ReadableSpan)! };
}

/** The docs' query that keeps the real row of each event in a Parquet dataset. */
function documentedParquetQuery(): string {
  const doc = readFileSync(join(REPO, 'docs', 'instrumentations.md'), 'utf8');
  const match = /<!-- docs-test: unended-parquet -->\n```sql\n([\s\S]*?)```/.exec(doc);
  if (!match) throw new Error('docs/instrumentations.md has no unended-parquet query');
  return match[1]!;
}

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

interface Store {
  readonly name: string;
  readonly available: () => Promise<boolean>;
  readonly url: () => Promise<string>;
  readonly drop: (url: string, table: string) => Promise<void>;
}

const DATABASES: readonly Store[] = [
  {
    name: 'PostgreSQL',
    available: postgresAvailable,
    url: async () => POSTGRES_URL,
    drop: async (url, table) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP TABLE IF EXISTS "${table}"`);
      await client.end();
    },
  },
  {
    name: 'MariaDB',
    available: mysqlAvailable,
    url: async () => MYSQL_URL,
    drop: async (url, table) => {
      const connection = await mysql.createConnection({ uri: url });
      await connection.query(`DROP TABLE IF EXISTS \`${table}\``);
      await connection.end();
    },
  },
];

/** What tells the rows apart: whose they are, and what each says. */
const shape = (row: MetricEvent | undefined) =>
  row && { event_id: row.event_id, error_type: row.error_type, input_tokens: row.input_tokens };

for (const store of DATABASES) {
  const available = await store.available();
  describe.runIf(available)(`${store.name}: the row of a span never ended`, () => {
    const table = uniqueName('unended');
    let url: string;
    let sink: Sink;
    const stored = async (row: MetricEvent) => shape((await sink.readBack([row.event_id]))[0]);

    beforeAll(async () => {
      url = await store.url();
      sink = await createSink(resolveOptions({ url, table }));
      await sink.prepare();
    });
    afterAll(async () => {
      await sink?.close();
      await store.drop(url, table);
    });

    it('is replaced by the real row when the span ends after all, in a batch with new rows', async () => {
      const late = chatCall();
      const other = chatCall();
      await sink.write([late.unended]);
      expect(await stored(late.unended)).toEqual(shape(late.unended));
      await sink.write([other.real, late.real]);
      expect(await stored(late.real)).toEqual({ ...shape(late.real), error_type: null, input_tokens: 12 });
      expect(await stored(other.real)).toEqual(shape(other.real));
    });

    it('does not replace a real row stored first', async () => {
      const call = chatCall();
      await sink.write([call.real]);
      await sink.write([call.unended]);
      expect(await stored(call.real)).toEqual(shape(call.real));
    });

    it('is stored once when written twice', async () => {
      const call = chatCall();
      await sink.write([call.unended]);
      await sink.write([call.unended]);
      const rows = await sink.readBack([call.unended.event_id]);
      expect(rows.map(shape)).toEqual([shape(call.unended)]);
    });
  });
}

describe('Parquet: the row of a span never ended', () => {
  it('sits beside the real row, and the documented query keeps the real one', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'llamonitor-unended-'));
    folders.push(folder);
    const sink = await createSink(resolveOptions({ url: folder, table: 'metric_events' }));
    await sink.prepare();
    const late = chatCall();
    const onTime = chatCall();
    await sink.write([late.unended]);
    await sink.write([late.real, onTime.real]);
    await sink.close();

    const all = await queryDataset(
      join(folder, 'metric_events'),
      'SELECT event_id, error_type FROM {dataset} ORDER BY error_type NULLS FIRST, event_id',
    );
    expect(all).toHaveLength(3);
    const kept = await queryDataset(
      join(folder, 'metric_events'),
      documentedParquetQuery().replaceAll('llamonitor-data/', `${folder}/`),
    );
    const byId = (a?: { event_id: unknown }, b?: { event_id: unknown }) =>
      String(a?.event_id).localeCompare(String(b?.event_id));
    expect(
      kept
        .map((row) => ({
          event_id: row.event_id,
          error_type: row.error_type,
          input_tokens: Number(row.input_tokens),
        }))
        .sort(byId),
    ).toEqual([shape(late.real), shape(onTime.real)].sort(byId));
  });
});
