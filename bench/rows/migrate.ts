/**
 * migrate_add_columns_ms_postgres / _mysql: how long prepare() takes to bring
 * a table of the 1.0 release holding 1,000,000 rows (--quick: 200,000) up to
 * schema 1.1, its ALTER included, through the sink users run. The reference
 * beside it is one full scan of the same table (SELECT of every row's
 * session_id length): an ALTER that rewrote or scanned the table would cost
 * at least that. Target: well under a second whatever the size.
 */
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { row, type BenchRow } from '../report.js';
import { built } from '../support/built.js';
import { progress, runGroup } from '../support/child.js';
import { releaseTableDdl } from '../../test/support/release-tables.js';

const { PostgresSink } =
  await built<typeof import('../../src/sinks/postgres/index.js')>('sinks/postgres/index.js');
const { MySqlSink } = await built<typeof import('../../src/sinks/mysql/index.js')>('sinks/mysql/index.js');

/** The columns every 1.0 row fills, as the load statements produce them from a row number `n`. */
const LOADED_COLUMNS =
  'event_id, schema_version, session_id, trace_id, span_id, operation_name, operation_type, timestamp, duration_ms, text_custom_metrics, custom_attributes';

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function postgresRow(url: string, rows: number): Promise<BenchRow> {
  const table = `bench_migrate_${process.pid}`;
  const admin = new pg.Client(url);
  await admin.connect();
  try {
    await admin.query(`DROP TABLE IF EXISTS "${table}"`);
    await admin.query(releaseTableDdl('postgres', table));
    progress(`postgres: loading ${rows} rows into a 1.0 table`);
    await admin.query(
      `INSERT INTO "${table}" (${LOADED_COLUMNS})
       SELECT md5(n::text)::uuid, '1.0.0', 'session-' || (n / 64), md5('t' || (n / 4)), left(md5('s' || n), 16),
              'chat gpt-4o-mini', 'llm_call', now() - n * interval '1 second', 100 + n % 900,
              jsonb_build_object('input_tokens', 200 + n % 3000, 'output_tokens', 40 + n % 900),
              jsonb_build_object('model', 'gpt-4o-mini', 'provider', 'openai')
         FROM generate_series(1, $1) AS n`,
      [rows],
    );
    await admin.query(`VACUUM ANALYZE "${table}"`);
    const scan = await timed(() => admin.query(`SELECT sum(length(session_id)) FROM "${table}"`));
    const sink = new PostgresSink(url, { table, poolSize: 1, createTable: true, warnings: false });
    const prepare = await timed(() => sink.prepare());
    await sink.close();
    const added = await admin.query(
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = $1`,
      [table],
    );
    if (added.rows[0].n !== 39)
      throw new Error(`the table has ${added.rows[0].n} columns after prepare(), not 39`);
    return row({
      name: 'migrate_add_columns_ms_postgres',
      value: prepare,
      unit: 'ms',
      reference: scan,
      ratio: prepare / scan,
      target: 'value <= 1000',
      note: `prepare() adding the 13 columns of 1.1 to a 1.0 table of ${rows.toLocaleString('en')} rows (catalog only, lock_timeout 2s) vs one full scan of it`,
    });
  } finally {
    await admin.query(`DROP TABLE IF EXISTS "${table}"`);
    await admin.end();
  }
}

async function mysqlRow(url: string, rows: number): Promise<BenchRow> {
  const table = `bench_migrate_${process.pid}`;
  const admin = await mysql.createConnection(url);
  try {
    await admin.query(`DROP TABLE IF EXISTS \`${table}\``);
    await admin.query(releaseTableDdl('mysql', table).replace(/;\s*$/, ''));
    progress(`mysql: loading ${rows} rows into a 1.0 table`);
    // MariaDB's sequence engine gives the row numbers; MySQL would need a recursive CTE.
    await admin.query(
      `INSERT INTO \`${table}\` (${LOADED_COLUMNS})
       SELECT CONCAT_WS('-', LEFT(MD5(seq), 8), MID(MD5(seq), 9, 4), MID(MD5(seq), 13, 4), MID(MD5(seq), 17, 4), RIGHT(MD5(seq), 12)),
              '1.0.0', CONCAT('session-', seq DIV 64), MD5(CONCAT('t', seq DIV 4)), LEFT(MD5(CONCAT('s', seq)), 16),
              'chat gpt-4o-mini', 'llm_call', NOW(6) - INTERVAL seq SECOND, 100 + seq % 900,
              JSON_OBJECT('input_tokens', 200 + seq % 3000, 'output_tokens', 40 + seq % 900),
              JSON_OBJECT('model', 'gpt-4o-mini', 'provider', 'openai')
         FROM seq_1_to_${rows}`,
    );
    const scan = await timed(() => admin.query(`SELECT SUM(LENGTH(session_id)) FROM \`${table}\``));
    const sink = new MySqlSink(url, { table, poolSize: 1, createTable: true, warnings: false });
    const prepare = await timed(() => sink.prepare());
    await sink.close();
    const [[added]] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    );
    if (Number(added?.['n']) !== 39)
      throw new Error(`the table has ${added?.['n']} columns after prepare(), not 39`);
    return row({
      name: 'migrate_add_columns_ms_mysql',
      value: prepare,
      unit: 'ms',
      reference: scan,
      ratio: prepare / scan,
      target: 'value <= 1000',
      note: `prepare() adding the 13 columns of 1.1 to a 1.0 table of ${rows.toLocaleString('en')} rows (ALGORITHM=INSTANT, lock_wait_timeout 2) vs one full scan of it`,
    });
  } finally {
    await admin.query(`DROP TABLE IF EXISTS \`${table}\``);
    await admin.end();
  }
}

runGroup(async (settings) => {
  // Ten times the throughput rows' size: 1,000,000 rows by default, 200,000 with --quick.
  const rows = settings.rows * 10;
  return [await postgresRow(settings.postgresUrl, rows), await mysqlRow(settings.mysqlUrl, rows)];
});
