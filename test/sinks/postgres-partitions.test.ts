/**
 * Time partitions in PostgreSQL (`partition: 'day' | 'month'`): the table the
 * sink creates, where rows land (read back by partition through `tableoid`),
 * a row sent twice stored once, the partitions kept ahead, a table the option
 * finds unpartitioned, and retention dropping whole partitions while a writer
 * keeps writing.
 */
import { describe, expect, it } from 'vitest';
import { INDEXES } from '../../src/schema/columns.js';
import { MaintenanceBusyError } from '../../src/sinks/maintenance.js';
import { PostgresSink } from '../../src/sinks/postgres/index.js';
import { createPartitionsAhead, partitionName } from '../../src/sinks/postgres/partitions.js';
import { tableName } from '../../src/sinks/postgres/ddl.js';
import type { SinkOptions } from '../../src/sinks/sink.js';
import { POSTGRES_URL, postgresAvailable, uniqueName } from '../support/databases.js';
import { sampleRowsAt } from '../support/sample-rows.js';
import { countRows, useOwnSchema } from './postgres-support.js';
import { runCli } from '../support/child-process.js';

const available = await postgresAvailable();
const DAY = 86_400_000;
const todayStart = Math.floor(Date.now() / DAY) * DAY;
const dayName = (table: string, millis: number) => partitionName(table, 'day', new Date(millis));
const rowsAt = sampleRowsAt;

describe.runIf(available)('PostgreSQL time partitions', () => {
  const db = useOwnSchema();

  async function newSink(options: Partial<SinkOptions> = {}) {
    const table = options.table ?? uniqueName('parts');
    const sink = new PostgresSink(POSTGRES_URL, {
      schema: db.schema,
      poolSize: 2,
      createTable: true,
      partition: 'day',
      ...options,
      table,
    });
    db.sinks.push(sink);
    await sink.prepare();
    return { sink, table, tableSql: `"${db.schema}"."${table}"` };
  }

  /** Rows per partition, by the partition's name. */
  async function perPartition(tableSql: string): Promise<Record<string, number>> {
    const found = await db.admin.query<{ part: string; n: string }>(
      `SELECT tableoid::regclass::text AS part, count(*) AS n FROM ${tableSql} GROUP BY 1`,
    );
    return Object.fromEntries(
      found.rows.map((r) => [r.part.replace(/^.*\./, '').replaceAll('"', ''), Number(r.n)]),
    );
  }

  it('creates a table partitioned by day: primary key (event_id, timestamp), a default partition, today and the next 7 days, every index on each', async () => {
    const { table, tableSql } = await newSink();
    const parts = await db.admin.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`,
      [tableSql],
    );
    const expected = [
      ...Array.from({ length: 8 }, (_, i) => dayName(table, todayStart + i * DAY)),
      `${table}_default`,
    ].sort();
    expect(parts.rows.map((r) => r.name)).toEqual(expected);
    expect(parts.rows.find((r) => r.name === `${table}_default`)?.bound).toBe('DEFAULT');
    const key = await db.admin.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
      [tableSql],
    );
    expect(key.rows[0]?.def).toBe('PRIMARY KEY (event_id, "timestamp")');
    const onPartition = await db.admin.query(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`,
      [db.schema, dayName(table, todayStart + 3 * DAY)],
    );
    expect(onPartition.rows).toHaveLength(INDEXES.length + 1);
  });

  it('stores rows in the partition of their day, any other day in the default one; a batch sent again once', async () => {
    const { sink, table, tableSql } = await newSink();
    const today = rowsAt('today', 30, todayStart + 3_600_000);
    const inThree = rowsAt('in-three', 20, todayStart + 3 * DAY + 60_000);
    const lastMonth = rowsAt('last-month', 10, todayStart - 30 * DAY);
    const nextMonth = rowsAt('next-month', 5, todayStart + 40 * DAY);
    const all = [...today, ...inThree, ...lastMonth, ...nextMonth];
    await sink.write(all);
    // A retry of the whole batch: COPY meets the key, the conflict path skips every stored row.
    await sink.write(all);
    await sink.write(rowsAt('today', 40, todayStart + 3_600_000));
    expect(await countRows(db.admin, tableSql)).toBe(all.length + 10);
    expect(await perPartition(tableSql)).toEqual({
      [dayName(table, todayStart)]: 40,
      [dayName(table, todayStart + 3 * DAY)]: 20,
      [`${table}_default`]: 15,
    });
    expect(await sink.readBack([lastMonth[0]!.event_id])).toHaveLength(1);
  });

  it('keeps the partitions ahead: the next days are made, a day whose rows already sit in the default partition is left there', async () => {
    const { sink, table, tableSql } = await newSink();
    await sink.write(rowsAt('day-ten', 4, todayStart + 10 * DAY + 60_000));
    const client = await db.admin;
    const created = await createPartitionsAhead(
      client,
      tableName(table, db.schema),
      'day',
      todayStart + 3 * DAY + 1000,
    );
    // Three days later: days 8, 9 and 10 come into the window; day 10 already has rows in the default partition.
    expect(created.sort()).toEqual([
      dayName(table, todayStart + 8 * DAY),
      dayName(table, todayStart + 9 * DAY),
    ]);
    await sink.write(rowsAt('day-nine', 3, todayStart + 9 * DAY + 60_000));
    expect(await perPartition(tableSql)).toEqual({
      [dayName(table, todayStart + 9 * DAY)]: 3,
      [`${table}_default`]: 4,
    });
  });

  it('a writer without the option accepts the partitioned table and finds its unit; the option on an unpartitioned table writes it as it is', async () => {
    const { table, tableSql } = await newSink();
    const { sink: plain } = await newSink({ table, partition: 'off' });
    await plain.write(rowsAt('plain', 5, todayStart + 60_000));
    expect(await perPartition(tableSql)).toEqual({ [dayName(table, todayStart)]: 5 });

    const unpartitioned = uniqueName('flat');
    await newSink({ table: unpartitioned, partition: 'off' });
    const { sink: late } = await newSink({ table: unpartitioned, partition: 'day' });
    await late.write(rowsAt('late', 3, todayStart + 60_000));
    expect(await countRows(db.admin, `"${db.schema}"."${unpartitioned}"`)).toBe(3);
  });

  it('llamonitor migrate --partition day: prints the partitioned table, then creates it', async () => {
    const table = uniqueName('migrated');
    const env = { LLAMONITOR_URL: POSTGRES_URL, LLAMONITOR_SCHEMA: db.schema, LLAMONITOR_TABLE: table };
    const printed = await runCli(['migrate', '--partition', 'day', '--print-sql'], env);
    expect(printed.code, printed.stdout).toBe(0);
    expect(printed.stdout).toContain(
      'PRIMARY KEY ("event_id", "timestamp")\n) PARTITION BY RANGE ("timestamp")',
    );
    expect(printed.stdout).toContain(
      `CREATE TABLE IF NOT EXISTS "${db.schema}"."${table}_default" PARTITION OF`,
    );
    const created = await runCli(['migrate', '--partition', 'day'], env);
    expect(created.code, created.stdout).toBe(0);
    const parts = await db.admin.query(
      `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = $1::regclass`,
      [`"${db.schema}"."${table}"`],
    );
    expect(parts.rows[0].n).toBe(9);
  });

  it('llamonitor migrate --partition day converts a table made without partitions: every row copied, the old table kept aside', async () => {
    const { sink: flat, table, tableSql } = await newSink({ partition: 'off' });
    const today = rowsAt('conv-today', 25, todayStart + 60_000);
    const old = rowsAt('conv-old', 15, todayStart - 40 * DAY);
    await flat.write([...today, ...old]);
    const env = { LLAMONITOR_URL: POSTGRES_URL, LLAMONITOR_SCHEMA: db.schema, LLAMONITOR_TABLE: table };

    const printed = await runCli(['migrate', '--partition', 'day', '--print-sql'], env);
    expect(printed.code, printed.stdout).toBe(0);
    expect(printed.stdout).toContain(`LOCK TABLE ${tableSql} IN SHARE ROW EXCLUSIVE MODE`);
    expect(printed.stdout).toContain(`ALTER TABLE ${tableSql} RENAME TO "${table}_unpartitioned"`);
    expect(printed.stdout).toMatch(/INSERT INTO .* SELECT .* FROM /);
    expect(await perPartition(tableSql)).toEqual({ [table]: 40 });

    const converted = await runCli(['migrate', '--partition', 'day'], env);
    expect(converted.code, converted.stdout + converted.stderr).toBe(0);
    expect(await perPartition(tableSql)).toEqual({
      [dayName(table, todayStart)]: 25,
      [`${table}_default`]: 15,
    });
    expect(await countRows(db.admin, `"${db.schema}"."${table}_unpartitioned"`)).toBe(40);
    // A writer started before the conversion keeps writing: the same rows once, new ones in their day.
    await flat.write([...today, ...rowsAt('conv-after', 5, todayStart + 120_000)]);
    expect(await perPartition(tableSql)).toEqual({
      [dayName(table, todayStart)]: 30,
      [`${table}_default`]: 15,
    });
  });

  it('month partitions: this month and the next', async () => {
    const { table, tableSql } = await newSink({ partition: 'month' });
    const now = new Date();
    const thisMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    const parts = await db.admin.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = $1::regclass ORDER BY 1`,
      [tableSql],
    );
    expect(parts.rows.map((r) => r.name)).toEqual(
      [
        partitionName(table, 'month', thisMonth),
        partitionName(table, 'month', nextMonth),
        `${table}_default`,
      ].sort(),
    );
  });

  it('retention drops the partitions wholly older than the limit and deletes the older rows left, while a writer writes', async () => {
    const { sink, table, tableSql } = await newSink();
    // Partitions of 40 and 35 days ago, as a writer of that time made them.
    for (const daysAgo of [40, 35]) {
      const from = new Date(todayStart - daysAgo * DAY);
      await db.admin.query(
        `CREATE TABLE "${db.schema}"."${dayName(table, from.getTime())}" PARTITION OF ${tableSql}
           FOR VALUES FROM ('${from.toISOString()}') TO ('${new Date(from.getTime() + DAY).toISOString()}')`,
      );
    }
    const fortyDays = rowsAt('forty', 50, todayStart - 40 * DAY + 60_000);
    const thirtyFive = rowsAt('thirty-five', 30, todayStart - 35 * DAY + 60_000);
    const inDefaultOld = rowsAt('default-old', 7, todayStart - 33 * DAY);
    const inDefaultNew = rowsAt('default-new', 6, todayStart - 20 * DAY);
    await sink.write([...fortyDays, ...thirtyFive, ...inDefaultOld, ...inDefaultNew]);

    const before = new Date(todayStart - 30 * DAY);
    const dry = await sink.prune({ before, dryRun: true });
    expect(dry).toMatchObject({
      rows: 50 + 30 + 7,
      partitions: [dayName(table, todayStart - 40 * DAY), dayName(table, todayStart - 35 * DAY)],
    });
    expect(await countRows(db.admin, tableSql)).toBe(93);

    const during = rowsAt('during', 200, todayStart + 60_000);
    const writing = (async () => {
      for (let i = 0; i < during.length; i += 20) await sink.write(during.slice(i, i + 20));
    })();
    const report = await sink.prune({ before, dryRun: false });
    await writing;
    expect(report).toEqual({
      rows: 87,
      partitions: [dayName(table, todayStart - 40 * DAY), dayName(table, todayStart - 35 * DAY)],
      stoppedEarly: false,
    });
    expect(await perPartition(tableSql)).toEqual({
      [dayName(table, todayStart)]: 200,
      [`${table}_default`]: 6,
    });
    const left = await db.admin.query(
      `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = $1::regclass`,
      [tableSql],
    );
    expect(left.rows[0].n).toBe(9);
  });

  it('retention refuses to start while another run holds the lease, and drops nothing', async () => {
    const { sink, table, tableSql } = await newSink();
    const from = new Date(todayStart - 40 * DAY);
    await db.admin.query(
      `CREATE TABLE "${db.schema}"."${dayName(table, from.getTime())}" PARTITION OF ${tableSql}
         FOR VALUES FROM ('${from.toISOString()}') TO ('${new Date(from.getTime() + DAY).toISOString()}')`,
    );
    const holder = await db.admin.query(`SELECT pg_advisory_lock(hashtext($1))`, [
      `llamonitor-maintenance "${db.schema}"."${table}"`,
    ]);
    try {
      await expect(
        sink.prune({ before: new Date(todayStart - 30 * DAY), dryRun: false }),
      ).rejects.toBeInstanceOf(MaintenanceBusyError);
    } finally {
      await db.admin.query(`SELECT pg_advisory_unlock(hashtext($1))`, [
        `llamonitor-maintenance "${db.schema}"."${table}"`,
      ]);
    }
    expect(holder.rowCount).toBe(1);
    const left = await db.admin.query(
      `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = $1::regclass`,
      [tableSql],
    );
    expect(left.rows[0].n).toBe(10);
  });
});
