/**
 * Retention against each real store: rows written through the package's
 * sinks across several days, pruned by the sink's own statements (PostgreSQL,
 * MariaDB: batches of 5,000 under the lease; Parquet: whole day folders),
 * counted before and after by an independent reader (a plain pg or mysql2
 * connection, DuckDB over the Parquet files), while a writer keeps writing.
 * A prune beside a writer's open transaction (SQL) neither waits for it nor
 * touches its row. Then the exporter's own hourly run, `retentionDays`, end to end.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricEvent } from '../../src/schema/columns.js';
import { PRUNE_BATCH_ROWS } from '../../src/sinks/maintenance.js';
import { maintenanceLockName } from '../../src/sinks/mysql/maintenance.js';
import type { Sink } from '../../src/sinks/sink.js';
import { importBuilt } from '../support/built-package.js';
import {
  MYSQL_URL,
  dropMySqlTable,
  dropPostgresTable,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { queryDataset } from '../support/parquet-readers.js';
import { sampleRowsAt } from '../support/sample-rows.js';

// The built package: the Parquet sink converts its files in a worker thread that runs dist/.
const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');
const { MetricEventsSpanExporter } =
  await importBuilt<typeof import('../../src/export/exporter.js')>('export/exporter.js');

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The limit the tests prune at: noon UTC, 30 days ago, so that an hour before it is the same day. */
const todayStart = Math.floor(Date.now() / DAY) * DAY;
const BEFORE = new Date(todayStart - 30 * DAY + 12 * HOUR);

/** `count` rows from `millis` on, one a second apart, with event ids of their own (`seed`). */
const rowsAt = sampleRowsAt;

/** The rows every store gets, by how the prune treats them. */
function dataset() {
  return {
    // Older than the limit by days: 5,000 and more, so the SQL stores delete them in more than one batch.
    oldDays: rowsAt('old-days', PRUNE_BATCH_ROWS + 700, BEFORE.getTime() - 3 * DAY),
    // The day before the limit's day.
    dayBefore: rowsAt('day-before', 30, BEFORE.getTime() - DAY),
    // The limit's own day, an hour before it: SQL removes them, Parquet keeps the day's folder whole.
    sameDay: rowsAt('same-day', 20, BEFORE.getTime() - HOUR),
    // Newer: kept everywhere.
    newer: rowsAt('newer', 25, BEFORE.getTime() + HOUR),
    recent: rowsAt('recent', 40, Date.now() - HOUR),
  };
}

interface Store {
  readonly name: string;
  readonly available: () => Promise<boolean>;
  readonly url: () => Promise<string>;
  /** Rows stored now, by an independent reader. */
  readonly count: (url: string, table: string) => Promise<number>;
  /** Takes the table's maintenance lease from elsewhere; returns how to let it go. */
  readonly holdLease: (url: string, table: string) => Promise<() => Promise<void>>;
  /**
   * SQL: a writer's transaction, left open, that inserted a copy of row `like` under
   * `event_id` and the present time; returns its commit.
   */
  readonly holdNewRow?: (
    url: string,
    table: string,
    like: string,
    eventId: string,
  ) => Promise<() => Promise<void>>;
  readonly drop: (url: string, table: string) => Promise<void>;
  /** Whole days (Parquet) or exact instants (SQL). */
  readonly wholeDays: boolean;
}

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

const STORES: readonly Store[] = [
  {
    name: 'PostgreSQL',
    available: postgresAvailable,
    url: async () => POSTGRES_URL,
    count: async (url, table) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return Number((await client.query(`SELECT count(*) AS n FROM "${table}"`)).rows[0].n);
      } finally {
        await client.end();
      }
    },
    holdLease: async (url, table) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`llamonitor-maintenance "${table}"`]);
      return async () => client.end();
    },
    holdNewRow: async (url, table, like, eventId) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`CREATE TEMP TABLE held AS SELECT * FROM "${table}" WHERE event_id = $1`, [like]);
      await client.query('UPDATE held SET event_id = $1, timestamp = now()', [eventId]);
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${table}" SELECT * FROM held`);
      return async () => {
        await client.query('COMMIT');
        await client.end();
      };
    },
    drop: dropPostgresTable,
    wholeDays: false,
  },
  {
    name: 'MariaDB',
    available: mysqlAvailable,
    url: async () => MYSQL_URL,
    count: async (url, table) => {
      const connection = await mysql.createConnection({ uri: url });
      try {
        const [rows] = await connection.query<mysql.RowDataPacket[]>(
          `SELECT COUNT(*) AS n FROM \`${table}\``,
        );
        return Number(rows[0]!.n);
      } finally {
        await connection.end();
      }
    },
    holdLease: async (url, table) => {
      const connection = await mysql.createConnection({ uri: url });
      const database = new URL(url).pathname.slice(1);
      await connection.query('SELECT GET_LOCK(?, 0)', [maintenanceLockName(database, table)]);
      return async () => connection.end();
    },
    holdNewRow: async (url, table, like, eventId) => {
      const connection = await mysql.createConnection({ uri: url });
      await connection.query(`CREATE TEMPORARY TABLE held AS SELECT * FROM \`${table}\` WHERE event_id = ?`, [
        like,
      ]);
      await connection.query('UPDATE held SET event_id = ?, `timestamp` = UTC_TIMESTAMP(6)', [eventId]);
      await connection.query('START TRANSACTION');
      await connection.query(`INSERT INTO \`${table}\` SELECT * FROM held`);
      return async () => {
        await connection.query('COMMIT');
        await connection.end();
      };
    },
    drop: dropMySqlTable,
    wholeDays: false,
  },
  {
    name: 'Parquet',
    available: async () => true,
    url: async () => {
      const folder = await mkdtemp(join(tmpdir(), 'llamonitor-retention-'));
      folders.push(folder);
      return folder;
    },
    count: async (url, table) =>
      Number((await queryDataset(join(url, table), 'SELECT count(*) AS n FROM {dataset}'))[0]!.n),
    holdLease: async (url, table) => {
      const lease = join(url, table, '_maintenance.lease');
      await writeFile(lease, 'another-run');
      return async () => rm(lease, { force: true });
    },
    drop: async () => {},
    wholeDays: true,
  },
];

const sizes = (rows: Record<string, readonly MetricEvent[]>) =>
  Object.fromEntries(Object.entries(rows).map(([name, list]) => [name, list.length]));

for (const store of STORES) {
  const available = await store.available();
  describe.runIf(available)(`${store.name}: prune`, () => {
    const table = uniqueName('retention');
    const written = dataset();
    const n = sizes(written);
    const total = Object.values(n).reduce((a, b) => a + b, 0);
    // SQL: every row older than the limit; Parquet: the days before the limit's day.
    const gone = store.wholeDays ? n.oldDays! + n.dayBefore! : n.oldDays! + n.dayBefore! + n.sameDay!;
    let url: string;
    let sink: Sink;

    beforeAll(async () => {
      url = await store.url();
      sink = await createSink(resolveOptions({ url, table, poolSize: 2 }));
      await sink.prepare();
      await sink.write(Object.values(written).flat());
      await sink.flush();
    });

    afterAll(async () => {
      await sink?.close();
      await store.drop(url, table);
    });

    it('a dry run counts what would go and removes nothing', async () => {
      const report = await sink.prune({ before: BEFORE, dryRun: true });
      expect(report.rows).toBe(gone);
      expect(report.stoppedEarly).toBe(false);
      expect(await store.count(url, table)).toBe(total);
    });

    it('refuses to start while another maintenance run holds the lease, and removes nothing', async () => {
      const release = await store.holdLease(url, table);
      try {
        await expect(sink.prune({ before: BEFORE, dryRun: false })).rejects.toMatchObject({
          name: 'MaintenanceBusyError',
        });
      } finally {
        await release();
      }
      expect(await store.count(url, table)).toBe(total);
    });

    it('removes exactly the old rows while a writer keeps writing, and a second run finds nothing', async () => {
      const during = rowsAt('during', 300, Date.now() - 2 * HOUR);
      const writing = (async () => {
        for (let i = 0; i < during.length; i += 30) await sink.write(during.slice(i, i + 30));
      })();
      const report = await sink.prune({ before: BEFORE, dryRun: false });
      await writing;
      await sink.flush();
      expect(report.rows).toBe(gone);
      expect(report.stoppedEarly).toBe(false);
      expect(await store.count(url, table)).toBe(total - gone + during.length);

      // Which rows are left: each kept group whole, each removed group gone.
      const keptGroups = store.wholeDays ? ['sameDay', 'newer', 'recent'] : ['newer', 'recent'];
      for (const [name, rows] of Object.entries(written)) {
        const ids = rows.slice(0, 5).map((r) => r.event_id);
        expect((await sink.readBack(ids)).length, name).toBe(keptGroups.includes(name) ? 5 : 0);
      }
      expect(await sink.prune({ before: BEFORE, dryRun: false })).toMatchObject({ rows: 0 });
    });

    if (store.wholeDays) {
      it('removes whole day folders, never today, and finishes a folder an earlier run set aside', async () => {
        const dataset = join(url, table);
        const days = () => readdirSync(dataset).filter((name) => name.startsWith('date='));
        const today = new Date().toISOString().slice(0, 10);
        const yesterday = new Date(Date.now() - DAY).toISOString().slice(0, 10);
        await sink.write(rowsAt('yesterday', 10, Date.now() - DAY));
        await sink.flush();
        expect(days()).toContain(`date=${yesterday}`);
        // What a prune killed between its rename and its deletion leaves: beside the dataset, not in
        // it, so the documented glob (DuckDB's ** enters hidden folders) never reads it.
        const leftover = join(url, `.${table}.pruned-date=2020-01-01-deadbeef`);
        await mkdir(leftover);
        await writeFile(join(leftover, 'part-x.parquet'), 'left by a run that died');
        expect(await store.count(url, table)).toBe(n.sameDay! + n.newer! + n.recent! + 300 + 10);

        // A limit of now: every day before today goes, today's folder stays whole.
        const report = await sink.prune({ before: new Date(), dryRun: false });
        expect(report.partitions).toContain(`date=${yesterday}`);
        expect(days().every((name) => name === `date=${today}`)).toBe(true);
        expect(days()).toContain(`date=${today}`);
        expect(existsSync(leftover)).toBe(false);
        expect(await store.count(url, table)).toBe(n.recent! + 300);
      });
    }
  });

  const holdNewRow = store.holdNewRow;
  describe.runIf(available && holdNewRow !== undefined)(`${store.name}: prune beside open writes`, () => {
    const table = uniqueName('retention_open');
    let url: string;

    afterAll(async () => {
      await store.drop(url, table);
    });

    // A DELETE of the range that scans the primary key locks every row it reads: it would wait for
    // the writer's transaction and deadlock with the inserts of several (a retention run lost for an hour).
    it('removes the old rows while a writer holds a new row in an open transaction, and leaves that row alone', async () => {
      url = await store.url();
      const sink = await createSink(resolveOptions({ url, table }));
      await sink.prepare();
      const old = rowsAt('open-old', 400, BEFORE.getTime() - 3 * DAY);
      const kept = rowsAt('open-kept', 20, Date.now() - HOUR);
      await sink.write([...old, ...kept]);
      const held = randomUUID();
      const commit = await holdNewRow!(url, table, kept[0]!.event_id, held);
      let report;
      try {
        report = await sink.prune({ before: BEFORE, dryRun: false });
      } finally {
        await commit();
      }
      expect(report).toMatchObject({ rows: old.length, stoppedEarly: false });
      expect(await store.count(url, table)).toBe(kept.length + 1);
      expect((await sink.readBack([held])).length).toBe(1);
      await sink.close();
    });
  });

  describe.runIf(available)(`${store.name}: retentionDays in the exporter`, () => {
    const table = uniqueName('retention_run');
    let url: string;

    afterAll(async () => {
      await store.drop(url, table);
    });

    it('removes the rows older than retentionDays in the background', async () => {
      url = await store.url();
      const spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-retention-spill-'));
      folders.push(spillDir);
      const sink = await createSink(resolveOptions({ url, table }));
      await sink.prepare();
      const old = rowsAt('run-old', 50, Date.now() - 40 * DAY);
      const kept = rowsAt('run-kept', 30, Date.now() - 10 * DAY);
      await sink.write([...old, ...kept]);
      await sink.close();
      expect(await store.count(url, table)).toBe(80);

      const exporter = new MetricEventsSpanExporter(
        { url, table, spillDir, retentionDays: 30 },
        {},
        { retentionTiming: { firstDelayMillis: 1, intervalMillis: HOUR } },
      );
      for (let i = 0; i < 1000 && exporter.retention?.current === undefined; i++)
        await new Promise((r) => setTimeout(r, 10));
      const report = await exporter.retention!.current;
      await exporter.shutdown();
      expect(report).toMatchObject({ rows: 50, stoppedEarly: false });
      expect(await store.count(url, table)).toBe(30);
    });
  });
}
