/**
 * The table: created from the column table like the Python project's, created
 * once however many processes start, and an existing table checked before use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { MySqlSink } from '../../src/sinks/mysql/index.js';
import { BACKSLASH_ESCAPES_SQL } from '../../src/sinks/mysql/pool.js';
import { mysqlAvailable, uniqueName } from '../support/databases.js';
import { ADDED_COLUMNS, INDEXES } from '../../src/schema/columns.js';
import { chatRow, comparable, mysqlUrl, openInspector, pythonTableDdl, readRows } from './mysql-support.js';
import { releaseTableDdl } from '../support/release-tables.js';

const available = await mysqlAvailable();

describe.skipIf(!available)('MySqlSink table', () => {
  let inspector: mysql.Connection;
  const tables: string[] = [];
  const sinks: MySqlSink[] = [];

  function sinkFor(table: string, createTable = true): MySqlSink {
    const sink = new MySqlSink(mysqlUrl(), { table, poolSize: 1, createTable });
    sinks.push(sink);
    return sink;
  }

  function newTable(prefix: string): string {
    const table = uniqueName(`mysql_${prefix}`);
    tables.push(table);
    return table;
  }

  async function describeColumns(table: string): Promise<unknown[]> {
    const [rows] = await inspector.query<mysql.RowDataPacket[]>(
      `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, CHARACTER_SET_NAME, COLLATION_NAME
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [table],
    );
    return rows.map((r) => ({ ...r }));
  }

  async function describeIndexes(table: string): Promise<unknown[]> {
    const [rows] = await inspector.query<mysql.RowDataPacket[]>(
      `SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, COLLATION
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
        ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
      [table],
    );
    return rows.map((r) => ({ ...r }));
  }

  beforeAll(async () => {
    inspector = await openInspector();
  });

  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    for (const table of tables) await inspector?.query(`DROP TABLE IF EXISTS \`${table}\``);
    await inspector?.end();
  });

  it('creates the table the Python project creates, then the 1.1 columns and the model index', async () => {
    const ours = newTable('created');
    const python = newTable('python');
    await sinkFor(ours).prepare();
    await inspector.query(pythonTableDdl(python));
    const pythonColumns = await describeColumns(python);
    const ourColumns = await describeColumns(ours);
    expect(ourColumns.slice(0, pythonColumns.length)).toEqual(pythonColumns);
    expect(
      ourColumns.slice(pythonColumns.length).map((c) => (c as { COLUMN_NAME: string }).COLUMN_NAME),
    ).toEqual(ADDED_COLUMNS.map((c) => c.name));
    const modelIndex = (i: unknown) => (i as { INDEX_NAME: string }).INDEX_NAME === 'idx_model';
    expect((await describeIndexes(ours)).filter((i) => !modelIndex(i))).toEqual(
      await describeIndexes(python),
    );
    expect(
      (await describeIndexes(ours)).filter(modelIndex).map((i) => (i as { COLUMN_NAME: string }).COLUMN_NAME),
    ).toEqual(['model', 'timestamp']);
  });

  it('brings a table made by the Python DDL up to 1.1 with the columns this package creates, and fills them', async () => {
    const ours = newTable('created11');
    const python = newTable('python11');
    await sinkFor(ours).prepare();
    await inspector.query(pythonTableDdl(python));
    const sink = sinkFor(python);
    await sink.prepare();
    expect(await describeColumns(python)).toEqual(await describeColumns(ours));
    const rows = [
      chatRow({
        model: 'gpt-4o-mini',
        provider: 'openai',
        input_tokens: 12,
        output_tokens: 5,
        total_tokens: 17,
        user_id: 'u-1',
        service_name: 'checkout',
      }),
    ];
    await sink.write(rows);
    expect(await readRows(inspector, python)).toEqual(comparable(rows));
    expect((await readRows(inspector, python))[0]).toMatchObject({
      schema_version: '1.1.0',
      model: 'gpt-4o-mini',
      input_tokens: '12',
    });
  });

  it('creates an InnoDB utf8mb4 table', async () => {
    const table = newTable('engine');
    await sinkFor(table).prepare();
    const [rows] = await inspector.query<mysql.RowDataPacket[]>(
      'SELECT ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    );
    expect(rows[0]).toMatchObject({ ENGINE: 'InnoDB', TABLE_COLLATION: 'utf8mb4_unicode_ci' });
  });

  it('creates the table once when several sinks prepare it at the same time, and again later', async () => {
    const table = newTable('race');
    await Promise.all([sinkFor(table).prepare(), sinkFor(table).prepare(), sinkFor(table).prepare()]);
    await sinkFor(table).prepare();
    const names = new Set(
      (await describeIndexes(table)).map((i) => (i as { INDEX_NAME: string }).INDEX_NAME),
    );
    expect(names.size).toBe(INDEXES.length + 1); // and PRIMARY
  });

  it('writes into a table created by the Python DDL as it is when table creation is off, as 1.0.0 rows', async () => {
    const table = newTable('python_rows');
    await inspector.query(pythonTableDdl(table));
    const before = await describeColumns(table);
    const sink = sinkFor(table, false);
    await sink.prepare();
    const rows = [
      chatRow({ image_total_pixels: 2n ** 60n, model: 'claude-sonnet-4-5', input_tokens: 40 }),
      chatRow({ custom_attributes: { model: 'claude' } }),
    ];
    await sink.write(rows);
    expect(await readRows(inspector, table)).toEqual(comparable(rows, true));
    expect(await describeColumns(table)).toEqual(before);
    expect(await sink.schemaGaps()).toEqual({
      columns: ADDED_COLUMNS.map((c) => c.name),
      indexes: ['(model, timestamp)'],
    });
  });

  it("keeps a table of this package's 1.0 release working, and adds the 1.1 columns in place with prepare()", async () => {
    const table = newTable('release10');
    await inspector.query(releaseTableDdl('mysql', table).replace(/;\s*$/, ''));
    await inspector.query(
      `INSERT INTO \`${table}\` (event_id, schema_version, session_id, trace_id, span_id, operation_name, operation_type, timestamp) VALUES ('00000000-0000-4000-8000-000000000001', '1.0.0', 's', 't', 'x', 'chat', 'llm_call', '2026-01-01 00:00:00')`,
    );
    const sink = sinkFor(table);
    await sink.prepare();
    expect(await sink.schemaGaps()).toEqual({ columns: [], indexes: ['(model, timestamp)'] });
    const rows = [
      chatRow({
        model: 'gpt-4o',
        provider: 'openai',
        input_tokens: 3,
        cache_read_tokens: 1,
        finish_reason: 'stop',
      }),
    ];
    await sink.write(rows);
    const stored = await readRows(inspector, table);
    expect(stored).toHaveLength(2);
    expect(stored.find((r) => r['schema_version'] === '1.0.0')).toMatchObject({
      model: null,
      input_tokens: null,
    });
    expect(stored.find((r) => r['event_id'] === rows[0]!.event_id)).toEqual(comparable(rows)[0]);
    expect(await sink.migrate(true)).toEqual([
      `ALTER TABLE \`${table}\` ADD INDEX \`idx_model\` (\`model\`, \`timestamp\`), ALGORITHM=INPLACE, LOCK=NONE`,
    ]);
    await sink.migrate(false);
    expect(await sink.schemaGaps()).toEqual({ columns: [], indexes: [] });
  });

  it('refuses a table whose column is too short, naming the column, found and expected types', async () => {
    const table = newTable('short');
    await inspector.query(pythonTableDdl(table));
    await inspector.query(`ALTER TABLE \`${table}\` MODIFY operation_name VARCHAR(100) NOT NULL`);
    await expect(sinkFor(table).prepare()).rejects.toThrow(
      /column operation_name holds fewer than 255 characters: found varchar\(100\), expected VARCHAR\(255\)/,
    );
  });

  it('refuses a table without a key on event_id, since rows written twice would be stored twice', async () => {
    const table = newTable('nokey');
    await inspector.query(pythonTableDdl(table));
    await inspector.query(`ALTER TABLE \`${table}\` DROP PRIMARY KEY`);
    await expect(sinkFor(table).prepare()).rejects.toThrow(/event_id is neither the PRIMARY KEY nor UNIQUE/);
  });

  it('refuses a table in utf8mb3, which cannot store emoji', async () => {
    const table = newTable('mb3');
    await inspector.query(
      pythonTableDdl(table)
        .replace(/utf8mb4_unicode_ci/, 'utf8mb3_unicode_ci')
        .replace(/utf8mb4/, 'utf8mb3'),
    );
    await expect(sinkFor(table).prepare()).rejects.toThrow(/session_id uses character set utf8mb3/);
  });

  it('refuses a table whose nullable column is NOT NULL', async () => {
    const table = newTable('notnull');
    await inspector.query(pythonTableDdl(table));
    await inspector.query(`ALTER TABLE \`${table}\` MODIFY parent_span_id VARCHAR(255) NOT NULL`);
    await expect(sinkFor(table).prepare()).rejects.toThrow(/column parent_span_id is NOT NULL/);
  });

  it('says how to create a missing table when creation is off, and creates nothing', async () => {
    const table = newTable('missing');
    await expect(sinkFor(table, false).prepare()).rejects.toThrow(/does not exist.*llamonitor migrate/);
    expect(await describeColumns(table)).toEqual([]);
  });

  it('rolls back a whole batch the table refuses part of, naming why', async () => {
    for (const params of ['', 'local-infile=0']) {
      const table = newTable('refused');
      const sink = new MySqlSink(mysqlUrl(params), { table, poolSize: 1, createTable: true });
      sinks.push(sink);
      await sink.prepare();
      await inspector.query(
        `ALTER TABLE \`${table}\` ADD CONSTRAINT positive_duration CHECK (duration_ms >= 0)`,
      );
      const rows = [chatRow(), chatRow({ duration_ms: -1 }), chatRow()];
      await expect(sink.write(rows)).rejects.toThrow(/positive_duration/);
      expect(await readRows(inspector, table)).toEqual([]);
    }
  });

  it('turns off NO_BACKSLASH_ESCAPES wherever it sits in sql_mode, keeping the other modes', async () => {
    for (const [mode, left] of [
      ['NO_BACKSLASH_ESCAPES', ''],
      ['NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES', 'STRICT_TRANS_TABLES'],
      ['STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES', 'STRICT_TRANS_TABLES'],
      ['ANSI_QUOTES,NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES', 'ANSI_QUOTES,STRICT_TRANS_TABLES'],
    ]) {
      await inspector.query('SET SESSION sql_mode = ?', [mode]);
      await inspector.query(BACKSLASH_ESCAPES_SQL);
      const [rows] = await inspector.query<mysql.RowDataPacket[]>('SELECT @@SESSION.sql_mode AS mode');
      expect(rows[0]?.mode).toBe(left);
    }
  });
});
