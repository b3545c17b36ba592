/**
 * MySQL/MariaDB tables of an earlier schema version grow to 1.1 in place:
 * ALGORITHM=INSTANT, one process at a time (GET_LOCK), giving up behind a
 * long transaction instead of stalling writers, and writing the columns the
 * table has meanwhile.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type mysql from 'mysql2/promise';
import { ADDED_COLUMNS, COLUMNS } from '../../src/schema/columns.js';
import { addsColumnsInstantly } from '../../src/sinks/mysql/capabilities.js';
import { MySqlSink } from '../../src/sinks/mysql/index.js';
import { mysqlAvailable, uniqueName } from '../support/databases.js';
import { releaseTableDdl } from '../support/release-tables.js';
import { sampleRows } from '../support/sample-rows.js';
import { comparable, mysqlUrl, openInspector, pythonTableDdl, readRows } from './mysql-support.js';

const available = await mysqlAvailable();

describe('which servers add a column without copying the table', () => {
  it.each([
    ['10.11.19-MariaDB-0+deb12u1', true],
    ['10.3.2-MariaDB', true],
    ['10.3.1-MariaDB', false],
    ['10.2.44-MariaDB', false],
    ['8.0.12', true],
    ['8.4.3', true],
    ['8.0.11', false],
    ['5.7.44-log', false],
  ])('%s: %s', (version, instant) => {
    expect(addsColumnsInstantly(version)).toBe(instant);
  });
});

describe.skipIf(!available)('MySqlSink on a table of an earlier schema version', () => {
  let inspector: mysql.Connection;
  const tables: string[] = [];
  const sinks: MySqlSink[] = [];

  beforeAll(async () => {
    inspector = await openInspector();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    for (const table of tables) await inspector?.query(`DROP TABLE IF EXISTS \`${table}\``);
    await inspector?.end();
  });

  function sinkOn(table: string, createTable = true): MySqlSink {
    const sink = new MySqlSink(mysqlUrl(), { table, poolSize: 2, createTable, warnings: false });
    sinks.push(sink);
    return sink;
  }

  async function releaseTable(): Promise<string> {
    const table = uniqueName('my_release10');
    tables.push(table);
    await inspector.query(releaseTableDdl('mysql', table).replace(/;\s*$/, ''));
    return table;
  }

  async function columnNames(table: string): Promise<string[]> {
    const [rows] = await inspector.query<mysql.RowDataPacket[]>(
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [table],
    );
    return rows.map((row) => String(row['name']));
  }

  it('adds the 1.1 columns to a table made by the Python DDL and to one of the 1.0 release, and fills them', async () => {
    const python = uniqueName('my_python11');
    tables.push(python);
    await inspector.query(pythonTableDdl(python));
    for (const table of [python, await releaseTable()]) {
      const sink = sinkOn(table);
      await sink.prepare();
      expect(await columnNames(table)).toEqual(COLUMNS.map((c) => c.name));
      const rows = sampleRows(6, { seed: table });
      await sink.write(rows);
      expect(await readRows(inspector, table)).toEqual(comparable(rows));
    }
  });

  it('gives up adding columns behind a long transaction, stores the rows without them, and adds them a minute later', async () => {
    const table = await releaseTable();
    const reader = await openInspector();
    try {
      await reader.query('START TRANSACTION');
      await reader.query(`SELECT COUNT(*) FROM \`${table}\``); // holds the table's metadata lock until it ends
      vi.useFakeTimers({ toFake: ['Date'] });
      const sink = sinkOn(table);
      await sink.prepare();
      const during = sampleRows(3, { seed: 'my-during' });
      await sink.write(during);
      expect(await columnNames(table)).not.toContain('model');
      await reader.query('COMMIT');
      expect(await readRows(inspector, table)).toEqual(comparable(during, true));

      const after = sampleRows(3, { seed: 'my-after' });
      vi.setSystemTime(Date.now() + 61_000);
      await sink.write(after);
      expect(await columnNames(table)).toEqual(COLUMNS.map((c) => c.name));
      const stored = await readRows(inspector, table);
      expect(stored.filter((row) => row['schema_version'] === '1.1.0')).toEqual(comparable(after));
    } finally {
      await reader.query('ROLLBACK').catch(() => undefined);
      await reader.end();
    }
  });

  it('migrates one table from several processes at once: each succeeds and the columns exist once', async () => {
    const table = await releaseTable();
    await Promise.all([sinkOn(table).prepare(), sinkOn(table).prepare(), sinkOn(table).prepare()]);
    expect(await columnNames(table)).toEqual(COLUMNS.map((c) => c.name));
    expect(ADDED_COLUMNS.length).toBeGreaterThan(0);
  });
});
