/**
 * The conformance pipeline: a capture target (a real instrumentation and its
 * client, pointed at the fake server) on a real tracer provider that also holds
 * two MetricEventsSpanProcessors of the built package, one writing a Parquet
 * dataset in a temporary folder, one a PostgreSQL table of this run's own.
 * Each scenario runs inside an application span of its own (the root of its
 * trace, no LLM attribute, so no row), and the scenario's rows are read back
 * from each sink by that trace id: Parquet with DuckDB, PostgreSQL with `pg`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, trace, type Attributes, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { afterAll } from 'vitest';
import { INSERT_COLUMNS } from '../../src/schema/columns.js';
import { importBuilt } from '../support/built-package.js';
import { liveCapture, type LiveCapture, type ScenarioCapture } from '../support/capture/live.js';
import type { CaptureTarget } from '../support/capture/target.js';
import { POSTGRES_URL, postgresAvailable, uniqueName } from '../support/databases.js';
import { queryDataset } from '../support/parquet-readers.js';

type PackageIndex = typeof import('../../src/index.js');

/** The processor of the built package: the Parquet sink converts files in a worker thread, which runs dist/. */
const { MetricEventsSpanProcessor } = await importBuilt<PackageIndex>('index.js');

export type SinkName = 'parquet' | 'postgres';

/** The sinks every conformance test reads: PostgreSQL too when it answers (always under CI=true). */
export const SINKS: readonly SinkName[] = (await postgresAvailable()) ? ['parquet', 'postgres'] : ['parquet'];

type Json = Record<string, unknown>;

/** One stored row, read back the same way from every sink: numbers as numbers, JSON columns parsed. */
export interface StoredRow {
  readonly event_id: string;
  readonly session_id: string;
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id: string | null;
  readonly operation_name: string;
  readonly operation_type: string;
  /** The span's start (the timestamp column) in microseconds since the epoch. */
  readonly start_micros: number;
  readonly duration_ms: number | null;
  readonly text_char_count: number | null;
  readonly text_word_count: number | null;
  readonly text_byte_size: number | null;
  readonly text_line_count: number | null;
  readonly text_custom_metrics: Json | null;
  readonly image_count: number | null;
  readonly image_total_pixels: number | null;
  readonly image_file_size_bytes: number | null;
  readonly image_width: number | null;
  readonly image_height: number | null;
  readonly image_format: string | null;
  readonly image_custom_metrics: Json | null;
  readonly error: string | null;
  readonly error_type: string | null;
  readonly custom_attributes: Json | null;
  readonly model: string | null;
  readonly provider: string | null;
  readonly input_tokens: number | null;
  readonly output_tokens: number | null;
  readonly total_tokens: number | null;
  readonly cache_read_tokens: number | null;
  readonly cache_write_tokens: number | null;
  readonly reasoning_tokens: number | null;
  readonly cost_usd: number | null;
  readonly time_to_first_token_ms: number | null;
  readonly finish_reason: string | null;
  readonly user_id: string | null;
  readonly service_name: string | null;
}

export interface ConformanceScenario extends ScenarioCapture {
  /** The application span the scenario ran in: the root of the scenario's trace. */
  readonly appSpan: SpanContext;
  /** The scenario's rows as each sink stored them, in start order (parents first at the same instant). */
  readonly rows: Readonly<Record<SinkName, readonly StoredRow[]>>;
}

export interface ConformanceCapture {
  run(scenario: string): Promise<ConformanceScenario>;
  readonly live: LiveCapture;
}

export interface ConformanceOptions {
  /** Attributes of the application span each scenario runs in (a session the app sets itself, say). */
  readonly appSpanAttributes?: Attributes;
  /**
   * danglingSpanTimeoutMillis of both processors: the rows of spans the instrumentation never ends
   * come this long after the scenario's application span ended (the grace is never longer).
   */
  readonly danglingSpanTimeoutMillis?: number;
}

/** How long a scenario with spans never ended waits for their rows at most. */
const UNENDED_ROWS_WAIT_MILLIS = 60_000;

const APP_TRACER = 'llamonitor-conformance-app';

/** Every column the writer fills but the two read differently (timestamp as start_micros) or not at all. */
const READ_COLUMNS = INSERT_COLUMNS.filter((c) => c.name !== 'timestamp' && c.name !== 'schema_version');
const COLUMN_LIST = READ_COLUMNS.map((c) => c.name).join(', ');
const JSON_COLUMNS = READ_COLUMNS.filter((c) => c.kind === 'json').map((c) => c.name);
const NUMBER_COLUMNS = [
  'start_micros',
  ...READ_COLUMNS.filter((c) => ['double', 'int32', 'int64'].includes(c.kind)).map((c) => c.name),
];

/** DuckDB gives JSON as text and BIGINT as bigint, pg gives JSONB parsed and BIGINT as text: one form for both. */
function storedRow(raw: Record<string, unknown>): StoredRow {
  const row: Record<string, unknown> = { ...raw };
  for (const column of JSON_COLUMNS) {
    const value = row[column];
    row[column] = typeof value === 'string' ? (JSON.parse(value) as unknown) : (value ?? null);
  }
  for (const column of NUMBER_COLUMNS) {
    const value = row[column];
    row[column] = value === null || value === undefined ? null : Number(value);
  }
  return row as unknown as StoredRow;
}

/**
 * The captured spans' order (tracing.ts: start order, ties as the tracer
 * started them); when a row has no captured span, all go by their start.
 */
function inSpanOrder(rows: StoredRow[], spans: readonly ReadableSpan[]): StoredRow[] {
  const position = new Map(spans.map((span, index) => [span.spanContext().spanId, index]));
  if (!rows.every((row) => position.has(row.span_id))) return inStartOrder(rows);
  return rows.sort((a, b) => position.get(a.span_id)! - position.get(b.span_id)!);
}

/** Start order; rows stamped with the same instant (AI SDKs use milliseconds) an ancestor first. */
function inStartOrder(rows: StoredRow[]): StoredRow[] {
  const byId = new Map(rows.map((row) => [row.span_id, row]));
  const isAncestor = (ancestor: StoredRow, of: StoredRow): boolean => {
    let parent = of.parent_span_id;
    for (let hops = 0; parent !== null && hops < rows.length; hops++) {
      if (parent === ancestor.span_id) return true;
      parent = byId.get(parent)?.parent_span_id ?? null;
    }
    return false;
  };
  return rows.sort(
    (a, b) => a.start_micros - b.start_micros || (isAncestor(a, b) ? -1 : isAncestor(b, a) ? 1 : 0),
  );
}

function isAppSpan(span: ReadableSpan): boolean {
  return span.instrumentationScope.name === APP_TRACER;
}

/**
 * Registers the hooks of a test file: the fake server, the target, the two
 * sinks; afterwards, shuts the processors down and removes the table and the
 * folders. Call at the top of a test file, once.
 */
export function conformanceCapture(
  target: CaptureTarget,
  options: ConformanceOptions = {},
): ConformanceCapture {
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-conformance-'));
  const table = uniqueName('conformance');
  const dataset = join(folder, 'data', table);
  const processors: SpanProcessor[] = [];
  const appSpans = new Map<string, SpanContext>();

  const live = liveCapture(target, {
    async spanProcessors() {
      processors.push(
        new MetricEventsSpanProcessor({
          url: join(folder, 'data'),
          table,
          spillDir: join(folder, 'spill-parquet'),
          danglingSpanTimeoutMillis: options.danglingSpanTimeoutMillis,
        }),
      );
      if (SINKS.includes('postgres')) {
        processors.push(
          new MetricEventsSpanProcessor({
            url: POSTGRES_URL,
            table,
            spillDir: join(folder, 'spill-postgres'),
            danglingSpanTimeoutMillis: options.danglingSpanTimeoutMillis,
          }),
        );
      }
      return processors;
    },
    async around(scenario, run) {
      const tracer = trace.getTracer(APP_TRACER);
      const appSpan = tracer.startSpan(`app ${scenario}`, { attributes: options.appSpanAttributes ?? {} });
      appSpans.set(scenario, appSpan.spanContext());
      try {
        // take() inside run() flushes every processor, ours included: the rows are stored when it returns.
        const { spans, unended } = await context.with(trace.setSpan(context.active(), appSpan), run);
        return { spans: spans.filter((s) => !isAppSpan(s)), unended: unended.filter((s) => !isAppSpan(s)) };
      } finally {
        appSpan.end();
      }
    },
  });

  let client: pg.Client | undefined;
  afterAll(async () => {
    // Before the provider's own shutdown (hooks run last-registered first): nothing is written after this.
    await Promise.all(processors.map((processor) => processor.shutdown()));
    if (client) {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.end();
    } else if (SINKS.includes('postgres')) {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
      await admin.end();
    }
    rmSync(folder, { recursive: true, force: true });
  });

  async function postgresRows(traceId: string): Promise<StoredRow[]> {
    if (!client) {
      client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
    }
    const result = await client.query(
      `SELECT ${COLUMN_LIST}, (extract(epoch FROM "timestamp") * 1000000)::bigint AS start_micros
         FROM ${table} WHERE trace_id = $1`,
      [traceId],
    );
    return result.rows.map(storedRow);
  }

  async function parquetRows(traceId: string): Promise<StoredRow[]> {
    const rows = await queryDataset(
      dataset,
      `SELECT ${COLUMN_LIST}, epoch_us("timestamp") AS start_micros FROM {dataset} WHERE trace_id = '${traceId}'`,
    ).catch((error: Error) => {
      // No file yet (every span of the run dropped or never ended): DuckDB finds nothing to read.
      if (/No files found/i.test(error.message)) return [];
      throw error;
    });
    return rows.map(storedRow);
  }

  const runs = new Map<string, Promise<ConformanceScenario>>();
  return {
    live,
    run(scenario) {
      let result = runs.get(scenario);
      if (!result) {
        result = live.run(scenario).then(async (capture) => {
          const appSpan = appSpans.get(scenario)!;
          const readRows = async () => ({
            parquet: inSpanOrder(await parquetRows(appSpan.traceId), capture.spans),
            postgres: inSpanOrder(
              SINKS.includes('postgres') ? await postgresRows(appSpan.traceId) : [],
              capture.spans,
            ),
          });
          let rows = await readRows();
          // Spans never ended get their rows once the grace after the application span's end is over.
          const expected = capture.spans.length + capture.unended.length;
          const watching = options.danglingSpanTimeoutMillis !== undefined && capture.unended.length > 0;
          const due = Date.now() + UNENDED_ROWS_WAIT_MILLIS;
          const short = () => SINKS.some((sink) => rows[sink].length < expected);
          while (watching && short() && Date.now() < due) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            await Promise.all(processors.map((processor) => processor.forceFlush()));
            rows = await readRows();
          }
          return { ...capture, appSpan, rows };
        });
        runs.set(scenario, result);
      }
      return result;
    },
  };
}

/** The one row named so; fails with the names stored when there is none or several. */
export function rowNamed(rows: readonly StoredRow[], name: string): StoredRow {
  const found = rows.filter((row) => row.operation_name === name);
  if (found.length !== 1) {
    throw new Error(
      `expected one row "${name}", got ${found.length} among: ${rows.map((r) => r.operation_name).join(', ')}`,
    );
  }
  return found[0]!;
}

/** The row of a captured span. */
export function rowOf(rows: readonly StoredRow[], span: ReadableSpan): StoredRow {
  const row = rows.find((r) => r.span_id === span.spanContext().spanId);
  if (!row) throw new Error(`no row for span ${span.name} (${span.spanContext().spanId})`);
  return row;
}
