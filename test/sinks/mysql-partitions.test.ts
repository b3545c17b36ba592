/**
 * Time partitions in MariaDB (`partition: 'day' | 'month'`): the table the
 * sink creates (RANGE COLUMNS on timestamp, primary key (event_id,
 * timestamp), pmax up to MAXVALUE), where rows land (read back per partition
 * with `PARTITION (...)`), a row sent twice stored once on both bulk paths,
 * pmax split ahead, and retention dropping whole partitions while a writer
 * keeps writing.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaintenanceBusyError } from '../../src/sinks/maintenance.js';
import { maintenanceLockName } from '../../src/sinks/mysql/maintenance.js';
import { MySqlSink } from '../../src/sinks/mysql/index.js';
import { createPartitionsAhead, partitionName } from '../../src/sinks/mysql/partitions.js';
import type { SinkOptions } from '../../src/sinks/sink.js';
import { mysqlAvailable, uniqueName } from '../support/databases.js';
import { sampleRowsAt } from '../support/sample-rows.js';
import { countRows, mysqlUrl, openInspector } from './mysql-support.js';
import { runCli } from '../support/child-process.js';

const available = await mysqlAvailable();
const DAY = 86_400_000;
const todayStart = Math.floor(Date.now() / DAY) * DAY;
const day = (millis: number) => partitionName('day', new Date(millis));
const rowsAt = sampleRowsAt;

describe.skipIf(!available)('MariaDB time partitions', () => {
  let inspector: mysql.Connection;
  const tables: string[] = [];
  const sinks: MySqlSink[] = [];

  beforeAll(async () => {
    inspector = await openInspector();
  });
  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    for (const table of tables) await inspector?.query(`DROP TABLE IF EXISTS \`${table}\``);
    await inspector?.end();
  });

  async function newSink(options: Partial<SinkOptions> = {}, params = '') {
    const table = options.table ?? uniqueName('mysql_parts');
    if (!tables.includes(table)) tables.push(table);
    const sink = new MySqlSink(mysqlUrl(params), {
      poolSize: 2,
      createTable: true,
      partition: 'day',
      ...options,
      table,
    });
    sinks.push(sink);
    await sink.prepare();
    return { sink, table };
  }

  /** Rows per partition with any, by name. */
  async function perPartition(table: string): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const name of await partitionNames(table)) {
      const [found] = await inspector.query<mysql.RowDataPacket[]>(
        `SELECT COUNT(*) AS n FROM \`${table}\` PARTITION (\`${name}\`)`,
      );
      if (Number(found[0]!.n) > 0) counts[String(name)] = Number(found[0]!.n);
    }
    return counts;
  }

  async function partitionNames(table: string): Promise<string[]> {
    const [parts] = await inspector.query<mysql.RowDataPacket[]>(
      `SELECT PARTITION_NAME AS name FROM information_schema.PARTITIONS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND PARTITION_NAME IS NOT NULL
        ORDER BY PARTITION_ORDINAL_POSITION`,
      [table],
    );
    return parts.map((p) => String(p.name));
  }

  it('creates a table partitioned by day: primary key (event_id, timestamp), today and the next 7 days, then pmax', async () => {
    const { table } = await newSink();
    expect(await partitionNames(table)).toEqual([
      ...Array.from({ length: 8 }, (_, i) => day(todayStart + i * DAY)),
      'pmax',
    ]);
    const [key] = await inspector.query<mysql.RowDataPacket[]>(
      `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
      [table],
    );
    expect(key.map((k) => k.name)).toEqual(['event_id', 'timestamp']);
  });

  it.each([
    ['LOAD DATA', ''],
    ['INSERT', 'local-infile=0'],
  ])(
    'through %s: rows in the partition of their day, older ones in the first, later ones in pmax; a batch sent again once',
    async (_path, params) => {
      const { sink, table } = await newSink({}, params);
      const today = rowsAt('today', 30, todayStart + 3_600_000);
      const inThree = rowsAt('in-three', 20, todayStart + 3 * DAY + 60_000);
      const lastMonth = rowsAt('last-month', 10, todayStart - 30 * DAY);
      const nextMonth = rowsAt('next-month', 5, todayStart + 40 * DAY);
      const all = [...today, ...inThree, ...lastMonth, ...nextMonth];
      await sink.write(all);
      await sink.write(all);
      expect(await countRows(inspector, table)).toBe(all.length);
      expect(await perPartition(table)).toEqual({
        [day(todayStart)]: 40,
        [day(todayStart + 3 * DAY)]: 20,
        pmax: 5,
      });
    },
  );

  it('keeps the partitions ahead by splitting pmax: rows already there move into their day', async () => {
    const { sink, table } = await newSink();
    await sink.write(rowsAt('day-ten', 4, todayStart + 10 * DAY + 60_000));
    expect(await perPartition(table)).toEqual({ pmax: 4 });
    const connection = await openInspector();
    try {
      const created = await createPartitionsAhead(
        connection as unknown as Parameters<typeof createPartitionsAhead>[0],
        table,
        'day',
        todayStart + 3 * DAY + 1000,
      );
      expect(created).toEqual([8, 9, 10].map((i) => day(todayStart + i * DAY)));
    } finally {
      await connection.end();
    }
    expect((await partitionNames(table)).slice(-4)).toEqual([
      ...[8, 9, 10].map((i) => day(todayStart + i * DAY)),
      'pmax',
    ]);
    expect(await perPartition(table)).toEqual({ [day(todayStart + 10 * DAY)]: 4 });
  });

  it('llamonitor migrate --partition day converts a table made without partitions in one ALTER TABLE', async () => {
    const { sink: flat, table } = await newSink({ partition: 'off' });
    const today = rowsAt('conv-today', 25, todayStart + 60_000);
    const old = rowsAt('conv-old', 15, todayStart - 40 * DAY);
    await flat.write([...today, ...old]);
    const env = { LLAMONITOR_URL: mysqlUrl(), LLAMONITOR_TABLE: table };
    const printed = await runCli(['migrate', '--partition', 'day', '--print-sql'], env);
    expect(printed.code, printed.stdout).toBe(0);
    expect(printed.stdout).toContain(
      `ALTER TABLE \`${table}\` DROP PRIMARY KEY, ADD PRIMARY KEY (\`event_id\`, \`timestamp\`) PARTITION BY RANGE COLUMNS(\`timestamp\`)`,
    );
    expect(await partitionNames(table)).toEqual([]);
    const converted = await runCli(['migrate', '--partition', 'day'], env);
    expect(converted.code, converted.stdout + converted.stderr).toBe(0);
    expect(await perPartition(table)).toEqual({ [day(todayStart)]: 40 });
    await flat.write([...today, ...rowsAt('conv-after', 5, todayStart + 3 * DAY)]);
    expect(await perPartition(table)).toEqual({ [day(todayStart)]: 40, [day(todayStart + 3 * DAY)]: 5 });
  });

  it('a writer without the option accepts the partitioned table; the option on an unpartitioned table writes it as it is', async () => {
    const { table } = await newSink();
    const { sink: plain } = await newSink({ table, partition: 'off' });
    await plain.write(rowsAt('plain', 5, todayStart + 60_000));
    expect(await perPartition(table)).toEqual({ [day(todayStart)]: 5 });

    const flat = uniqueName('mysql_flat');
    await newSink({ table: flat, partition: 'off' });
    const { sink: late } = await newSink({ table: flat, partition: 'day' });
    await late.write(rowsAt('late', 3, todayStart + 60_000));
    expect(await countRows(inspector, flat)).toBe(3);
    expect(await partitionNames(flat)).toEqual([]);
  });

  it('retention drops the partitions wholly older than the limit and deletes the older rows left, while a writer writes', async () => {
    const { sink, table } = await newSink();
    // Partitions of 40 and 35 days ago before today's, as a table made 40 days ago has them.
    await inspector.query(
      `ALTER TABLE \`${table}\` REORGANIZE PARTITION \`${day(todayStart)}\` INTO (
         PARTITION \`${day(todayStart - 40 * DAY)}\` VALUES LESS THAN ('${new Date(todayStart - 39 * DAY).toISOString().slice(0, 10)}'),
         PARTITION \`${day(todayStart - 35 * DAY)}\` VALUES LESS THAN ('${new Date(todayStart - 34 * DAY).toISOString().slice(0, 10)}'),
         PARTITION \`${day(todayStart)}\` VALUES LESS THAN ('${new Date(todayStart + DAY).toISOString().slice(0, 10)}'))`,
    );
    const fortyDays = rowsAt('forty', 50, todayStart - 40 * DAY + 60_000);
    const thirtyFive = rowsAt('thirty-five', 30, todayStart - 35 * DAY + 60_000);
    // 33 and 20 days back: in today's partition, which starts where the 35-day one ends.
    const oldInToday = rowsAt('old-in-today', 7, todayStart - 33 * DAY);
    const newInToday = rowsAt('new-in-today', 6, todayStart - 20 * DAY);
    await sink.write([...fortyDays, ...thirtyFive, ...oldInToday, ...newInToday]);

    const before = new Date(todayStart - 30 * DAY);
    const dry = await sink.prune({ before, dryRun: true });
    expect(dry).toMatchObject({
      rows: 87,
      partitions: [day(todayStart - 40 * DAY), day(todayStart - 35 * DAY)],
    });
    expect(await countRows(inspector, table)).toBe(93);

    const during = rowsAt('during', 200, todayStart + 60_000);
    const writing = (async () => {
      for (let i = 0; i < during.length; i += 20) await sink.write(during.slice(i, i + 20));
    })();
    const report = await sink.prune({ before, dryRun: false });
    await writing;
    expect(report).toEqual({
      rows: 87,
      partitions: [day(todayStart - 40 * DAY), day(todayStart - 35 * DAY)],
      stoppedEarly: false,
    });
    expect(await perPartition(table)).toEqual({ [day(todayStart)]: 206 });
    expect((await partitionNames(table))[0]).toBe(day(todayStart));
  });

  it('retention refuses to start while another run holds the lease, and drops nothing', async () => {
    const { sink, table } = await newSink();
    const holder = await openInspector();
    try {
      const database = new URL(mysqlUrl()).pathname.slice(1);
      await holder.query('SELECT GET_LOCK(?, 0)', [maintenanceLockName(database, table)]);
      await expect(
        sink.prune({ before: new Date(todayStart + 2 * DAY), dryRun: false }),
      ).rejects.toBeInstanceOf(MaintenanceBusyError);
    } finally {
      await holder.end();
    }
    expect(await partitionNames(table)).toHaveLength(9);
  });
});
