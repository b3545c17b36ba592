import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COLUMNS, INDEXES } from '../../src/schema/columns.js';
import { fitRow } from '../../src/schema/fit-row.js';
import { InvalidIdentifierError } from '../../src/schema/identifier.js';
import { PostgresSink } from '../../src/sinks/postgres/index.js';
import type { SinkOptions } from '../../src/sinks/sink.js';
import { POSTGRES_URL, postgresAvailable, uniqueName } from '../support/databases.js';
import { useOwnSchema, countRows, ordered, readRows } from './postgres-support.js';
import { sampleRow, sampleRows } from '../support/sample-rows.js';

const available = await postgresAvailable();

describe.runIf(available)('PostgresSink', () => {
  const db = useOwnSchema();

  /** A prepared sink on a table of its own in this run's schema, and that table's SQL name. */
  async function newSink(options: Partial<SinkOptions> = {}, url = POSTGRES_URL) {
    const table = options.table ?? uniqueName('events');
    const sink = new PostgresSink(url, {
      schema: db.schema,
      poolSize: 4,
      createTable: true,
      ...options,
      table,
    });
    db.sinks.push(sink);
    await sink.prepare();
    return { sink, table, tableSql: `"${db.schema}"."${table}"` };
  }

  it('creates the table with the column table types and its indexes', async () => {
    const { table } = await newSink();
    const columns = await db.admin.query(
      `SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
      [db.schema, table],
    );
    expect(columns.rows.map((c) => c.column_name)).toEqual(COLUMNS.map((c) => c.name));
    expect(columns.rows.find((c) => c.column_name === 'timestamp')?.data_type).toBe(
      'timestamp with time zone',
    );
    const indexes = await db.admin.query(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname`,
      [db.schema, table],
    );
    expect(indexes.rows).toHaveLength(INDEXES.length + 1); // and the primary key's
    expect(indexes.rows.map((r) => r.indexdef).join('\n')).toContain('(session_id, "timestamp" DESC)');
  });

  it('stores every column exactly as given, microseconds and 64-bit integers included', async () => {
    const { sink, tableSql } = await newSink();
    const rows = [
      ...sampleRows(20),
      sampleRow(20, { duration_ms: 0.000123456789, image_total_pixels: Number.MAX_SAFE_INTEGER }),
      sampleRow(21, {
        timestamp: '1999-12-31T23:59:59.999999Z',
        text_custom_metrics: { nested: { deep: [1, 'a', null] } },
      }),
    ];
    await sink.write(rows);
    expect(await readRows(db.admin, tableSql)).toEqual(ordered(rows));
  });

  it('stores each row once when the same batch is written twice', async () => {
    const { sink, tableSql } = await newSink();
    const rows = sampleRows(500);
    await sink.write(rows);
    await sink.write(rows);
    expect(await readRows(db.admin, tableSql)).toEqual(ordered(rows));
  });

  it('stores the new rows of a batch that holds some rows stored before', async () => {
    const { sink, tableSql } = await newSink();
    const rows = sampleRows(300);
    await sink.write(rows.slice(100, 200));
    await sink.write(rows);
    expect(await readRows(db.admin, tableSql)).toEqual(ordered(rows));
  });

  it('stores a row once when one batch holds it twice', async () => {
    const { sink, tableSql } = await newSink();
    const rows = sampleRows(10);
    await sink.write([...rows, rows[3] as (typeof rows)[number]]);
    expect(await countRows(db.admin, tableSql)).toBe(10);
  });

  it('stores a row once when a batch large enough to be split holds it in two parts', async () => {
    const { sink, tableSql } = await newSink({ poolSize: 4 });
    const rows = sampleRows(12_000);
    await sink.write([...rows, rows[0] as (typeof rows)[number]]);
    expect(await countRows(db.admin, tableSql)).toBe(12_000);
  });

  it('writes 10,000 rows in one export', async () => {
    const { sink, tableSql } = await newSink();
    const rows = sampleRows(10_000);
    await sink.write(rows);
    expect(await readRows(db.admin, tableSql)).toEqual(ordered(rows));
  });

  it('stores each row once when a 10,000-row batch comes again, its COPY failing mid-stream', async () => {
    const { sink, tableSql } = await newSink({ poolSize: 1 });
    const rows = sampleRows(10_000);
    await sink.write(rows.slice(0, 1_000)); // the server fails the COPY at its first row
    await sink.write(rows);
    expect(await countRows(db.admin, tableSql)).toBe(10_000);
  });

  it('keeps every row of concurrent exports, more of them than connections', async () => {
    const { sink, tableSql } = await newSink({ poolSize: 3 });
    const batches = Array.from({ length: 8 }, (_, b) => sampleRows(1_000, b * 1_000));
    await Promise.all(batches.map((batch) => sink.write(batch)));
    expect(await countRows(db.admin, tableSql)).toBe(8_000);
  });

  it('stores quotes, backslashes, tabs, newlines, \\N, emoji and JSON escapes unchanged, and drops NUL', async () => {
    const { sink, tableSql } = await newSink();
    const nasty = `it's "quoted" \\ back\\slash\ttab\nnewline\r\ncrlf \\N \\. 😀 \u0000nul end`;
    const raw = sampleRow(0, {
      session_id: '\\N',
      operation_name: nasty,
      error: nasty,
      parent_span_id: '\\',
      custom_attributes: { [nasty]: nasty, list: ['\\N', '\t', '\u0000'] },
    });
    const row = fitRow(raw);
    await sink.write([row]);
    const [stored] = await readRows(db.admin, tableSql);
    expect(stored).toEqual(row);
    expect(stored?.session_id).toBe('\\N');
    expect(stored?.error).toBe(nasty.replace('\u0000', ''));
  });

  it('keeps the UTC instant when the session time zone is not UTC', async () => {
    const url = `${POSTGRES_URL}?options=${encodeURIComponent('-c TimeZone=America/New_York')}`;
    const { sink, tableSql } = await newSink({}, url);
    const rows = sampleRows(3);
    await sink.write(rows);
    await sink.write(rows); // the conflict path too
    expect(await readRows(db.admin, tableSql)).toEqual(ordered(rows));
  });

  it.runIf(existsSync('/var/run/postgresql/.s.PGSQL.5432'))('writes through a Unix socket URL', async () => {
    const database = new URL(POSTGRES_URL).pathname;
    const { sink, tableSql } = await newSink({}, `postgres://postgres@${database}?host=/var/run/postgresql`);
    await sink.write(sampleRows(3));
    expect(await countRows(db.admin, tableSql)).toBe(3);
  });

  it('lets several sinks prepare the same new table at once', async () => {
    const table = uniqueName('events');
    const racing = Array.from({ length: 6 }, () => {
      const sink = new PostgresSink(POSTGRES_URL, {
        table,
        schema: db.schema,
        poolSize: 1,
        createTable: true,
      });
      db.sinks.push(sink);
      return sink;
    });
    await Promise.all(racing.map((sink) => sink.prepare()));
    const indexes = await db.admin.query(
      `SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`,
      [db.schema, table],
    );
    expect(indexes.rows[0].n).toBe(INDEXES.length + 1);
  });

  it('creates a missing schema', async () => {
    const other = uniqueName('llamonitor_new_schema');
    const sink = new PostgresSink(POSTGRES_URL, {
      table: 'metric_events',
      schema: other,
      poolSize: 1,
      createTable: true,
    });
    db.sinks.push(sink);
    try {
      await sink.prepare();
      await sink.write(sampleRows(2));
      expect(await countRows(db.admin, `"${other}"."metric_events"`)).toBe(2);
    } finally {
      await db.admin.query(`DROP SCHEMA IF EXISTS ${other} CASCADE`);
    }
  });

  it('with createTable off, fails prepare on a missing table and says how to create it', async () => {
    const table = uniqueName('missing');
    const sink = new PostgresSink(POSTGRES_URL, {
      table,
      schema: db.schema,
      poolSize: 1,
      createTable: false,
    });
    db.sinks.push(sink);
    await expect(sink.prepare()).rejects.toThrow(
      /does not exist.*llamonitor migrate.*LLAMONITOR_CREATE_TABLE/,
    );
    const present = await db.admin.query('SELECT to_regclass($1) AS oid', [`"${db.schema}"."${table}"`]);
    expect(present.rows[0].oid).toBeNull();
  });

  it('refuses a table or schema name carrying SQL before any SQL runs', async () => {
    await db.admin.query(`CREATE TABLE ${db.schema}.x (id int)`);
    const options = { poolSize: 1, createTable: true };
    expect(
      () => new PostgresSink(POSTGRES_URL, { ...options, table: `metric_events; drop table ${db.schema}.x` }),
    ).toThrow(InvalidIdentifierError);
    expect(
      () =>
        new PostgresSink(POSTGRES_URL, {
          ...options,
          table: 'metric_events',
          schema: 'public; drop table x',
        }),
    ).toThrow(/invalid schema name "public; drop table x"/);
    const present = await db.admin.query('SELECT to_regclass($1) AS oid', [`${db.schema}.x`]);
    expect(present.rows[0].oid).not.toBeNull();
  });

  it('reports health while the server answers, leaving a missing table to prepare, which names it', async () => {
    const { sink, table, tableSql } = await newSink();
    await expect(sink.checkHealth()).resolves.toBeUndefined();
    await db.admin.query(`DROP TABLE ${tableSql}`);
    await expect(sink.checkHealth()).resolves.toBeUndefined();
    const noCreate = new PostgresSink(POSTGRES_URL, {
      table,
      schema: db.schema,
      poolSize: 1,
      createTable: false,
    });
    db.sinks.push(noCreate);
    await expect(noCreate.prepare()).rejects.toThrow(/table .* does not exist/);
  });

  it('fails a write into a dropped table with an error that names the table', async () => {
    const { sink, table, tableSql } = await newSink();
    await db.admin.query(`DROP TABLE ${tableSql}`);
    await expect(sink.write(sampleRows(5))).rejects.toThrow(new RegExp(`${table}.*does not exist`));
  });

  it('fails a write whose connection the server kills, the process living on and the next write working', async () => {
    const application = uniqueName('killed');
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('application_name', application);
    const { sink, tableSql } = await newSink({ poolSize: 1 }, url.toString());
    const writing = sink.write(sampleRows(60_000));
    const copying = async () => {
      const active = await db.admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'COPY%'`,
        [application],
      );
      return active.rows[0].n > 0;
    };
    for (let waited = 0; !(await copying()); waited += 10) {
      if (waited > 30_000) throw new Error('the sink never started its COPY within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await db.admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [application],
    );
    await expect(writing).rejects.toThrow(
      /lost the connection to PostgreSQL .* Writing the batch again is safe/,
    );
    await sink.write(sampleRows(10, 60_000));
    expect(await countRows(db.admin, tableSql)).toBe(10);
  });

  it('lets writes in flight finish on close, those waiting for a connection included', async () => {
    const { sink, tableSql } = await newSink({ poolSize: 1 });
    const writes = [0, 1, 2].map((b) => sink.write(sampleRows(200, b * 200)));
    await sink.close();
    await Promise.all(writes);
    expect(await countRows(db.admin, tableSql)).toBe(600);
  });

  it('fails writes after close without opening a connection', async () => {
    const { sink } = await newSink();
    await sink.close();
    await expect(sink.write(sampleRows(1))).rejects.toThrow(/closed/);
  });
});
