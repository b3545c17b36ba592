/**
 * Tables of an earlier schema version (this package's 1.0 release, the Python
 * project's) grow to 1.1 in place, safely: the columns are added in the
 * catalog only, an ALTER behind a long transaction gives up instead of
 * stalling writers, two processes migrating at once both succeed, and a table
 * that cannot grow keeps taking rows into the columns it has.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { ADDED_COLUMNS, COLUMNS, SCHEMA_VERSION_1_0, type MetricEvent } from '../../src/schema/columns.js';
import { PostgresSink } from '../../src/sinks/postgres/index.js';
import { POSTGRES_URL, postgresAvailable, uniqueName } from '../support/databases.js';
import { releaseTableDdl } from '../support/release-tables.js';
import { sampleRows } from '../support/sample-rows.js';
import { ordered, readRows, useOwnSchema } from './postgres-support.js';

const available = await postgresAvailable();

describe.runIf(available)('PostgresSink on a table of an earlier schema version', () => {
  const db = useOwnSchema();

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  async function releaseTable(): Promise<{ table: string; tableSql: string }> {
    const table = uniqueName('release10');
    await db.admin.query(releaseTableDdl('postgres', table, db.schema));
    return { table, tableSql: `"${db.schema}"."${table}"` };
  }

  function sinkOn(table: string, createTable = true): PostgresSink {
    const sink = new PostgresSink(POSTGRES_URL, {
      table,
      schema: db.schema,
      poolSize: 2,
      createTable,
      warnings: false,
    });
    db.sinks.push(sink);
    return sink;
  }

  async function columnNames(table: string): Promise<string[]> {
    const found = await db.admin.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
      [db.schema, table],
    );
    return found.rows.map((row) => row.name);
  }

  async function fileOf(tableSql: string): Promise<string> {
    const found = await db.admin.query<{ file: string }>(
      `SELECT pg_relation_filepath($1::regclass) AS file`,
      [tableSql],
    );
    return found.rows[0]!.file;
  }

  /** The rows as stored in a table without the 1.1 columns: those read as null, schema 1.0.0. */
  function as1_0(rows: readonly MetricEvent[]): MetricEvent[] {
    return ordered(rows).map((row) => {
      const copy: Record<string, unknown> = { ...row, schema_version: SCHEMA_VERSION_1_0 };
      for (const column of ADDED_COLUMNS) copy[column.name] = null;
      return copy as unknown as MetricEvent;
    });
  }

  it('adds the 1.1 columns to a 1.0 table in the catalog only (same data file), keeps its rows, and fills the new columns', async () => {
    const { table, tableSql } = await releaseTable();
    const old = sampleRows(5, { seed: 'written-by-1.0' }).map((row) => ({
      ...row,
      schema_version: SCHEMA_VERSION_1_0,
    }));
    await sinkOn(table, false).write(old); // what the 1.0 release stored: its columns only
    const file = await fileOf(tableSql);

    const sink = sinkOn(table);
    await sink.prepare();
    expect(await columnNames(table)).toEqual(COLUMNS.map((c) => c.name));
    expect(await fileOf(tableSql)).toBe(file); // no rewrite: PostgreSQL recorded the columns in its catalog
    const fresh = sampleRows(5, { seed: 'written-by-1.1' });
    expect(fresh.every((row) => row.model !== null && row.input_tokens !== null)).toBe(true);
    await sink.write(fresh);
    expect(await readRows(db.admin, tableSql)).toEqual(ordered([...as1_0(old), ...fresh]));
  });

  it('with createTable off, writes the columns the table has, as 1.0.0 rows, and says once which columns are missing', async () => {
    const { table, tableSql } = await releaseTable();
    const printed: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((line) => {
      printed.push(String(line));
      return true;
    });
    const sink = new PostgresSink(POSTGRES_URL, {
      table,
      schema: db.schema,
      poolSize: 1,
      createTable: false,
    });
    db.sinks.push(sink);
    await sink.prepare();
    const rows = sampleRows(6, { seed: 'no-alter' });
    await sink.write(rows.slice(0, 3));
    await sink.write(rows.slice(3));
    expect(await readRows(db.admin, tableSql)).toEqual(as1_0(rows));
    expect(await columnNames(table)).toEqual(COLUMNS.filter((c) => c.since === '1.0.0').map((c) => c.name));
    const warnings = printed.filter((line) => line.includes('lacks the schema 1.1 columns'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${ADDED_COLUMNS.map((c) => c.name).join(', ')} (table creation is off)`);
    expect(warnings[0]).toContain('llamonitor migrate');
    expect(await sink.schemaGaps()).toEqual({
      columns: ADDED_COLUMNS.map((c) => c.name),
      indexes: ['(model, timestamp)'],
    });
  });

  it('gives up adding columns behind a long transaction, stores the rows without them, and adds them a minute later', async () => {
    const { table, tableSql } = await releaseTable();
    const reader = new pg.Client(POSTGRES_URL);
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query(`SELECT count(*) FROM ${tableSql}`); // holds ACCESS SHARE until it ends
      vi.useFakeTimers({ toFake: ['Date'] });
      const sink = sinkOn(table);
      await sink.prepare(); // the ALTER waited at most lock_timeout, then gave up
      const during = sampleRows(3, { seed: 'during' });
      await sink.write(during);
      expect(await readRows(db.admin, tableSql)).toEqual(as1_0(during));
      expect(await columnNames(table)).not.toContain('model');
      await reader.query('COMMIT');

      const after = sampleRows(3, { seed: 'after' });
      vi.setSystemTime(Date.now() + 61_000);
      await sink.write(after);
      expect(await columnNames(table)).toEqual(COLUMNS.map((c) => c.name));
      expect(await readRows(db.admin, tableSql)).toEqual(ordered([...as1_0(during), ...after]));
    } finally {
      await reader.query('ROLLBACK').catch(() => undefined);
      await reader.end();
    }
  });

  it('lets a write queued behind an ALTER that waits for a long transaction complete once the ALTER gives up (without a lock timeout it would wait for the transaction)', async () => {
    const { table, tableSql } = await releaseTable();
    const writer = sinkOn(table, false);
    await writer.prepare();
    const reader = new pg.Client(POSTGRES_URL);
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query(`SELECT count(*) FROM ${tableSql}`);
      const migrating = sinkOn(table).prepare();
      const rows = sampleRows(4, { seed: 'beside-the-alter' });
      // Queued behind the waiting ALTER's exclusive lock until it gives up: the write still completes.
      await writer.write(rows);
      await migrating;
      expect(await readRows(db.admin, tableSql)).toEqual(as1_0(rows));
    } finally {
      await reader.query('ROLLBACK').catch(() => undefined);
      await reader.end();
    }
  });

  it('migrates one table from several processes at once: each succeeds and the columns exist once', async () => {
    const { table } = await releaseTable();
    await Promise.all([sinkOn(table).prepare(), sinkOn(table).prepare(), sinkOn(table).prepare()]);
    expect(await columnNames(table)).toEqual(COLUMNS.map((c) => c.name));
  });

  it('keeps writing, without the new columns, for a user who may insert but not ALTER the table', async () => {
    const { table, tableSql } = await releaseTable();
    const role = uniqueName('writer_only');
    await db.admin.query(`CREATE ROLE ${role} LOGIN`);
    try {
      await db.admin.query(`GRANT USAGE ON SCHEMA "${db.schema}" TO ${role}`);
      await db.admin.query(`GRANT INSERT, SELECT ON ${tableSql} TO ${role}`);
      await db.admin.query(`GRANT TEMPORARY ON DATABASE test TO ${role}`);
      const url = new URL(POSTGRES_URL);
      url.username = role;
      url.password = '';
      const sink = new PostgresSink(url.toString(), {
        table,
        schema: db.schema,
        poolSize: 1,
        createTable: true,
        warnings: false,
      });
      await sink.prepare();
      const rows = sampleRows(3, { seed: 'writer-only' });
      await sink.write(rows);
      await sink.close();
      expect(await readRows(db.admin, tableSql)).toEqual(as1_0(rows));
    } finally {
      await db.admin.query(`DROP OWNED BY ${role}`);
      await db.admin.query(`DROP ROLE ${role}`);
    }
  });

  it('migrate() prints, then runs, the ALTER and the concurrent index build, and reports no gap after', async () => {
    const { table } = await releaseTable();
    const sink = sinkOn(table);
    const planned = await sink.migrate(true);
    expect(planned).toHaveLength(2);
    expect(planned[0]).toMatch(/^ALTER TABLE .* ADD COLUMN IF NOT EXISTS "model" VARCHAR\(255\), /);
    expect(planned[1]).toBe(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS "${table}_model_idx" ON "${db.schema}"."${table}" ("model", "timestamp" DESC)`,
    );
    expect(await sink.migrate(false)).toEqual(planned);
    expect(await sink.schemaGaps()).toEqual({ columns: [], indexes: [] });
    expect(await sink.migrate(true)).toEqual([]);
  });
});
