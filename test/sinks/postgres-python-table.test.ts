/**
 * Tables the Python llamonitor-async created keep working as they are; tables
 * that would refuse or change rows fail at start-up, naming the column.
 */
import { describe, expect, it } from 'vitest';
import { PostgresSink } from '../../src/sinks/postgres/index.js';
import { POSTGRES_URL, postgresAvailable, uniqueName } from '../support/databases.js';
import { useOwnSchema, ordered, readRows } from './postgres-support.js';
import { sampleRows } from '../support/sample-rows.js';

const available = await postgresAvailable();

/** The Python project's PostgreSQL table (DESIGN.md, "The seed table"). */
function pythonTableDdl(tableSql: string, table: string): string[] {
  return [
    `CREATE TABLE ${tableSql} (
      event_id UUID PRIMARY KEY,
      schema_version VARCHAR(20) NOT NULL,
      session_id VARCHAR(255) NOT NULL,
      trace_id VARCHAR(255) NOT NULL,
      span_id VARCHAR(255) NOT NULL,
      parent_span_id VARCHAR(255),
      operation_name VARCHAR(255) NOT NULL,
      operation_type VARCHAR(50) NOT NULL,
      timestamp TIMESTAMP NOT NULL,
      duration_ms FLOAT,
      text_char_count INTEGER,
      text_word_count INTEGER,
      text_byte_size INTEGER,
      text_line_count INTEGER,
      text_custom_metrics JSONB,
      image_count INTEGER,
      image_total_pixels BIGINT,
      image_file_size_bytes BIGINT,
      image_width INTEGER,
      image_height INTEGER,
      image_format VARCHAR(20),
      image_custom_metrics JSONB,
      error TEXT,
      error_type VARCHAR(255),
      custom_attributes JSONB,
      created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    )`,
    `CREATE INDEX ${table}_idx_session ON ${tableSql} (session_id, timestamp DESC)`,
    `CREATE INDEX ${table}_idx_trace ON ${tableSql} (trace_id, timestamp DESC)`,
    `CREATE INDEX ${table}_idx_span ON ${tableSql} (span_id)`,
    `CREATE INDEX ${table}_idx_parent_span ON ${tableSql} (parent_span_id)`,
    `CREATE INDEX ${table}_idx_timestamp ON ${tableSql} (timestamp DESC)`,
    `CREATE INDEX ${table}_idx_operation ON ${tableSql} (operation_name, timestamp DESC)`,
  ];
}

describe.runIf(available)('PostgresSink on existing tables', () => {
  const db = useOwnSchema();

  /** Creates a table with `ddl`, then a sink on it (not yet prepared). */
  async function tableAndSink(ddl: (tableSql: string, table: string) => string[], url = POSTGRES_URL) {
    const table = uniqueName('events');
    const tableSql = `"${db.schema}"."${table}"`;
    for (const statement of ddl(tableSql, table)) await db.admin.query(statement);
    const sink = new PostgresSink(url, { table, schema: db.schema, poolSize: 2, createTable: true });
    db.sinks.push(sink);
    return { sink, tableSql };
  }

  /** The Python table with one column's declaration replaced. */
  const pythonTableWith = (column: string, declaration: string) => (tableSql: string, table: string) => {
    const [create, ...indexes] = pythonTableDdl(tableSql, table);
    const changed = (create as string).replace(
      new RegExp(`\\n\\s*${column} [^\\n]*,`),
      `\n${column} ${declaration},`,
    );
    expect(changed).not.toBe(create);
    return [changed, ...indexes];
  };

  it('writes into the Python table, TIMESTAMP receiving the UTC wall time whatever the session zone', async () => {
    const url = `${POSTGRES_URL}?options=${encodeURIComponent('-c TimeZone=Asia/Kolkata')}`;
    const { sink, tableSql } = await tableAndSink(pythonTableDdl, url);
    await sink.prepare();
    const rows = sampleRows(50);
    await sink.write(rows);
    expect(await readRows(db.admin, tableSql)).toEqual(ordered(rows));
  });

  it('stores each row once in the Python table when a batch comes again', async () => {
    const url = `${POSTGRES_URL}?options=${encodeURIComponent('-c TimeZone=Asia/Kolkata')}`;
    const { sink, tableSql } = await tableAndSink(pythonTableDdl, url);
    await sink.prepare();
    const rows = sampleRows(50);
    await sink.write(rows.slice(0, 20));
    await sink.write(rows);
    expect(await readRows(db.admin, tableSql)).toEqual(ordered(rows));
  });

  it('leaves the indexes of an existing table alone', async () => {
    const { sink } = await tableAndSink(pythonTableDdl);
    await sink.prepare();
    const indexes = await db.admin.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1`, [
      db.schema,
    ]);
    const tables = await db.admin.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1`, [
      db.schema,
    ]);
    expect(indexes.rows[0].n).toBe(7 * tables.rows[0].n);
  });

  it('accepts a REAL duration and a CHAR(36) event id', async () => {
    const { sink } = await tableAndSink((tableSql, table) =>
      pythonTableWith('duration_ms', 'REAL')(tableSql, table).map((s) =>
        s.replace('event_id UUID PRIMARY KEY', 'event_id CHAR(36) PRIMARY KEY'),
      ),
    );
    await expect(sink.prepare()).resolves.toBeUndefined();
  });

  it('refuses at start-up a column of another type, naming it, its type and the one expected', async () => {
    const { sink } = await tableAndSink(pythonTableWith('duration_ms', 'TEXT'));
    await expect(sink.prepare()).rejects.toThrow(
      /column duration_ms has type text, expected DOUBLE PRECISION/,
    );
  });

  it('refuses at start-up a VARCHAR shorter than the values it must hold', async () => {
    const { sink } = await tableAndSink(pythonTableWith('session_id', 'VARCHAR(64) NOT NULL'));
    await expect(sink.prepare()).rejects.toThrow(
      /column session_id has type character varying\(64\), expected VARCHAR\(255\)/,
    );
  });

  it('refuses at start-up a timestamp that would drop microseconds', async () => {
    const { sink } = await tableAndSink(pythonTableWith('timestamp', 'TIMESTAMP(3) NOT NULL'));
    await expect(sink.prepare()).rejects.toThrow(
      /column timestamp has type timestamp\(3\) without time zone/,
    );
  });

  it('refuses at start-up a missing column', async () => {
    const { sink } = await tableAndSink((tableSql, table) => [
      ...pythonTableDdl(tableSql, table),
      `ALTER TABLE ${tableSql} DROP COLUMN image_format`,
    ]);
    await expect(sink.prepare()).rejects.toThrow(/column image_format is missing/);
  });

  it('refuses at start-up a NOT NULL column that rows may leave empty', async () => {
    const { sink } = await tableAndSink(pythonTableWith('parent_span_id', 'VARCHAR(255) NOT NULL'));
    await expect(sink.prepare()).rejects.toThrow(/column parent_span_id is NOT NULL/);
  });

  it('refuses at start-up a table without a unique event_id', async () => {
    const { sink } = await tableAndSink((tableSql, table) =>
      pythonTableDdl(tableSql, table).map((s) =>
        s.replace('event_id UUID PRIMARY KEY', 'event_id UUID NOT NULL'),
      ),
    );
    await expect(sink.prepare()).rejects.toThrow(/event_id has no primary key or unique index/);
  });
});
