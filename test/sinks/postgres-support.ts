/**
 * What the PostgreSQL sink tests share: realistic rows, a schema of each run's
 * own, and reading rows back in the form they were written.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { MetricEvent } from '../../src/schema/columns.js';
import { POSTGRES_URL, uniqueName } from '../support/databases.js';

/** A row with every column set, as the mapping makes them (fitted). */
export function sampleRow(index: number, overrides: Partial<MetricEvent> = {}): MetricEvent {
  const micros = String(index % 1_000_000).padStart(6, '0');
  return {
    event_id: randomUUID(),
    schema_version: '1.0.0',
    session_id: `session-${index % 97}`,
    trace_id: `0af7651916cd43dd8448eb211c8${String(index % 100_000).padStart(5, '0')}`,
    span_id: `b7ad6b71692${String(index % 100_000).padStart(5, '0')}`,
    parent_span_id: index % 3 === 0 ? null : `a1b2c3d4e5f${String(index % 100_000).padStart(5, '0')}`,
    operation_name: index % 2 === 0 ? 'chat gpt-4o' : 'embeddings text-embedding-3-small',
    operation_type: index % 2 === 0 ? 'llm_call' : 'embedding',
    timestamp: `2026-11-28T05:37:55.${micros}Z`,
    duration_ms: 1234.567 + index / 7,
    text_char_count: 120 + index,
    text_word_count: 20,
    text_byte_size: 130,
    text_line_count: 3,
    text_custom_metrics: { input_tokens: 42, output_tokens: 17, total_tokens: 59 },
    image_count: index % 5 === 0 ? 1 : null,
    image_total_pixels: index % 5 === 0 ? 1_048_576 : null,
    image_file_size_bytes: index % 5 === 0 ? 2n ** 60n + BigInt(index) : null,
    image_width: index % 5 === 0 ? 1024 : null,
    image_height: index % 5 === 0 ? 1024 : null,
    image_format: index % 5 === 0 ? 'png' : null,
    image_custom_metrics:
      index % 5 === 0 ? { images: [{ side: 'input', format: 'png', width: 1024 }] } : null,
    error: index % 11 === 0 ? 'Rate limit exceeded' : null,
    error_type: index % 11 === 0 ? 'RateLimitError' : null,
    custom_attributes: { model: 'gpt-4o', provider: 'openai', 'service.name': 'checkout' },
    ...overrides,
  };
}

export function sampleRows(count: number, from = 0): MetricEvent[] {
  return Array.from({ length: count }, (_, i) => sampleRow(from + i));
}

/** A connection as the server's superuser, for setting up and reading back. */
export async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  return client;
}

/** A schema of this run's own; `drop()` removes it and all it holds. */
export async function ownSchema(admin: pg.Client): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = uniqueName('llamonitor_pg');
  await admin.query(`CREATE SCHEMA ${name}`);
  return { name, drop: async () => void (await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`)) };
}

/**
 * The table's rows as MetricEvents, ordered by timestamp then event_id:
 * timestamps as ISO strings in UTC (a TIMESTAMP column holds UTC wall time),
 * BIGINTs as numbers when safe, else bigints.
 */
export async function readRows(admin: pg.Client, tableSql: string): Promise<MetricEvent[]> {
  const kind = await admin.query<{ type: string }>(
    `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attname = 'timestamp'`,
    [tableSql],
  );
  const utc =
    kind.rows[0]?.type === 'timestamp with time zone' ? `"timestamp" AT TIME ZONE 'UTC'` : '"timestamp"';
  const result = await admin.query(
    `SELECT event_id::text AS event_id, schema_version, session_id, trace_id, span_id, parent_span_id,
            operation_name, operation_type,
            to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "timestamp",
            duration_ms::float8 AS duration_ms, text_char_count, text_word_count, text_byte_size, text_line_count,
            text_custom_metrics, image_count, image_total_pixels, image_file_size_bytes, image_width,
            image_height, image_format, image_custom_metrics, error, error_type, custom_attributes
       FROM ${tableSql} ORDER BY "timestamp", event_id`,
  );
  return result.rows.map((row: Record<string, unknown>) => ({
    ...row,
    image_total_pixels: int64(row.image_total_pixels),
    image_file_size_bytes: int64(row.image_file_size_bytes),
  })) as MetricEvent[];
}

function int64(value: unknown): number | bigint | null {
  if (value === null) return null;
  const big = BigInt(value as string);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : big;
}

/** `rows` in the order readRows returns them. */
export function ordered(rows: readonly MetricEvent[]): MetricEvent[] {
  return [...rows].sort((a, b) =>
    a.timestamp === b.timestamp ? (a.event_id < b.event_id ? -1 : 1) : a.timestamp < b.timestamp ? -1 : 1,
  );
}

export async function countRows(admin: pg.Client, tableSql: string): Promise<number> {
  const result = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${tableSql}`);
  return Number(result.rows[0]?.n);
}
