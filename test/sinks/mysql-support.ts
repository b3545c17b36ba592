/**
 * Helpers of the MySQL sink tests: realistic fitted rows, a plain connection to
 * look at what the server stored, and the Python project's DDL.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { fitRow } from '../../src/schema/fit-row.js';
import {
  INSERT_COLUMNS,
  SCHEMA_VERSION,
  SCHEMA_VERSION_1_0,
  type MetricEvent,
} from '../../src/schema/columns.js';
import { MYSQL_URL } from '../support/databases.js';

export { MYSQL_URL };

/** A URL to the test server with extra query parameters. */
export function mysqlUrl(params = ''): string {
  return params ? `${MYSQL_URL}${MYSQL_URL.includes('?') ? '&' : '?'}${params}` : MYSQL_URL;
}

let sequence = 0;

/** A row as the mapping makes it for a chat completion, fitted; `overrides` replace columns before fitting. */
export function chatRow(overrides: Record<string, unknown> = {}): MetricEvent {
  sequence++;
  return fitRow({
    event_id: randomUUID(),
    schema_version: SCHEMA_VERSION,
    session_id: `session-${sequence % 7}`,
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: sequence.toString(16).padStart(16, '0'),
    parent_span_id: sequence % 3 === 0 ? null : 'b7ad6b7169203331',
    operation_name: 'chat gpt-4o-mini',
    operation_type: 'llm_call',
    timestamp: `2026-03-14T15:09:26.${String(sequence % 1_000_000).padStart(6, '0')}Z`,
    duration_ms: 812.125 + sequence,
    text_char_count: 120,
    text_word_count: 21,
    text_byte_size: 124,
    text_line_count: 2,
    text_custom_metrics: { input_tokens: 42, output_tokens: 17, total_tokens: 59 },
    image_count: null,
    error: null,
    error_type: null,
    custom_attributes: { model: 'gpt-4o-mini', provider: 'openai', 'service.name': 'checkout' },
    ...overrides,
  });
}

/** A connection that reads values back exactly: big integers as strings, DATETIME as text. */
export function openInspector(): Promise<mysql.Connection> {
  return mysql.createConnection({
    uri: MYSQL_URL,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    timezone: 'Z',
  });
}

/** Stored rows in the shape of MetricEvent, for comparison with what was written (see `comparable`). */
export async function readRows(
  inspector: mysql.Connection,
  table: string,
): Promise<Record<string, unknown>[]> {
  const [rows] = await inspector.query<mysql.RowDataPacket[]>(`SELECT * FROM \`${table}\` ORDER BY event_id`);
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row)) {
      if (key === 'created_at') continue;
      if (key === 'timestamp') out[key] = `${String(value).replace(' ', 'T')}Z`;
      else if (typeof value === 'string' && /custom_metrics|custom_attributes/.test(key))
        out[key] = JSON.parse(value);
      else if (INT64_NAMES.has(key)) out[key] = value === null ? null : String(value);
      else out[key] = value;
    }
    return out;
  });
}

/** Rows as written, with int64 values as strings, sorted by event_id: comparable with readRows. */
const INT64_NAMES = new Set<string>(INSERT_COLUMNS.filter((c) => c.kind === 'int64').map((c) => c.name));

/**
 * `rows` as readRows returns them once stored; `schema1_0`: as stored in a
 * table that lacks the 1.1 columns (without them, schema_version 1.0.0).
 */
export function comparable(rows: readonly MetricEvent[], schema1_0 = false): Record<string, unknown>[] {
  return [...rows]
    .sort((a, b) => (a.event_id < b.event_id ? -1 : 1))
    .map((row) => {
      const out: Record<string, unknown> = {};
      for (const column of INSERT_COLUMNS) {
        if (schema1_0 && column.since !== '1.0.0') continue;
        const value = (row as unknown as Record<string, unknown>)[column.name] ?? null;
        out[column.name] = INT64_NAMES.has(column.name) && value !== null ? String(value) : value;
      }
      if (schema1_0) out['schema_version'] = SCHEMA_VERSION_1_0;
      return out;
    });
}

export async function countRows(inspector: mysql.Connection, table: string): Promise<number> {
  const [rows] = await inspector.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
  return Number(rows[0]?.n);
}

/** The Python llamonitor-async MySQL DDL, for a table of the given name. */
export function pythonTableDdl(table: string): string {
  const ddl = readFileSync(new URL('./fixtures/python-metric-events.mysql.sql', import.meta.url), 'utf8');
  return ddl.replace('CREATE TABLE IF NOT EXISTS metric_events', `CREATE TABLE \`${table}\``);
}
