/**
 * Many writers into one table: 8 processes (test/support/many-writers-child.ts),
 * each with its own exporter, write at once into one PostgreSQL table, one
 * MariaDB table and one Parquet folder; two of them also replay a spill that
 * holds the same spans (a retry that reached the server and was spilled as
 * well), and every one runs retention, which removes rows seeded 40 days back.
 * None is lost; in PostgreSQL and MariaDB every span is stored once at every
 * moment (sampled while they write); in Parquet, where one writer cannot see
 * another's files, the docs' query counts each once before `llamonitor
 * compact`, and every row is there once after it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { SpillStore } from '../../src/spill/spill-store.js';
import { importBuilt } from '../support/built-package.js';
import { REPO, runCli, startNode } from '../support/child-process.js';
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

const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');

const WRITERS = 8;
const SPANS_EACH = 200;
const OLD = 150;
const SPILLED = 120;
const DAY = 86_400_000;
const CHILD = join(REPO, 'test', 'support', 'many-writers-child.ts');

const rowsAt = sampleRowsAt;

interface Counts {
  /** Every row, and every distinct event id. */
  readonly rows: number;
  readonly distinct: number;
  /** Rows older than 30 days. */
  readonly old: number;
  /** Rows per writer's conversation id. */
  readonly perWriter: Readonly<Record<string, number>>;
}

interface Store {
  readonly name: string;
  readonly available: () => Promise<boolean>;
  readonly url: () => Promise<string>;
  readonly counts: (url: string, table: string) => Promise<Counts>;
  readonly drop: (url: string, table: string) => Promise<void>;
}

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});
const tempFolder = async (prefix: string) => {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  folders.push(folder);
  return folder;
};

const COUNTS_SQL = (from: string, cutoff: string) =>
  `SELECT count(*) AS n, count(DISTINCT event_id) AS d,
          sum(CASE WHEN timestamp < ${cutoff} THEN 1 ELSE 0 END) AS old FROM ${from}`;
const PER_WRITER_SQL = (from: string) =>
  `SELECT session_id AS s, count(*) AS n FROM ${from} WHERE session_id LIKE 'writer-%' GROUP BY session_id`;
const countsOf = (all: Record<string, unknown>, perWriter: Record<string, unknown>[]): Counts => ({
  rows: Number(all.n),
  distinct: Number(all.d),
  old: Number(all.old ?? 0),
  perWriter: Object.fromEntries(perWriter.map((row) => [String(row.s), Number(row.n)])),
});

const STORES: readonly Store[] = [
  {
    name: 'PostgreSQL',
    available: postgresAvailable,
    url: async () => POSTGRES_URL,
    counts: async (url, table) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const all = await client.query(COUNTS_SQL(`"${table}"`, `now() - interval '30 days'`));
        const perWriter = await client.query(PER_WRITER_SQL(`"${table}"`));
        return countsOf(all.rows[0], perWriter.rows);
      } finally {
        await client.end();
      }
    },
    drop: dropPostgresTable,
  },
  {
    name: 'MariaDB',
    available: mysqlAvailable,
    url: async () => MYSQL_URL,
    counts: async (url, table) => {
      const connection = await mysql.createConnection({ uri: url });
      try {
        const [all] = await connection.query<mysql.RowDataPacket[]>(
          COUNTS_SQL(`\`${table}\``, `UTC_TIMESTAMP(6) - INTERVAL 30 DAY`),
        );
        const [perWriter] = await connection.query<mysql.RowDataPacket[]>(PER_WRITER_SQL(`\`${table}\``));
        return countsOf(all[0]!, perWriter);
      } finally {
        await connection.end();
      }
    },
    drop: dropMySqlTable,
  },
  {
    name: 'Parquet',
    available: async () => true,
    url: () => tempFolder('llamonitor-many-writers-'),
    counts: async (url, table) => {
      const dataset = join(url, table);
      const [all] = await queryDataset(dataset, COUNTS_SQL('{dataset}', `now() - INTERVAL 30 DAY`));
      const perWriter = await queryDataset(dataset, PER_WRITER_SQL('{dataset}'));
      return countsOf(all!, perWriter);
    },
    drop: async () => {},
  },
];

for (const store of STORES) {
  const available = await store.available();
  describe.runIf(available)(`${store.name}: ${WRITERS} writers at once`, () => {
    const table = uniqueName('writers');
    let url: string;

    afterAll(async () => {
      await store.drop(url, table);
    });

    it(
      'every span stored, once; the twice-spilled batch once; the old rows removed by retention',
      { timeout: 240_000 },
      async () => {
        url = await store.url();
        // Before the writers: rows 40 days old for retention, and a batch that reached the store.
        const old = rowsAt('old', OLD, Date.now() - 40 * DAY);
        const reached = rowsAt('reached', SPILLED, Date.now() - 3_600_000);
        const sink = await createSink(resolveOptions({ url, table }));
        await sink.prepare();
        await sink.write([...old, ...reached]);
        await sink.close();

        // The same batch spilled by writers 0 and 1 as well.
        const spills: string[] = [];
        for (let writer = 0; writer < WRITERS; writer++) {
          const spillDir = await tempFolder(`llamonitor-many-writers-spill-${writer}-`);
          spills.push(spillDir);
          if (writer < 2)
            await new SpillStore(spillDir, 1 << 30).store(reached, { table }, `writer-${writer}`);
        }

        const children = spills.map((spillDir, writer) =>
          startNode(['--import', 'tsx', CHILD, url, table, spillDir, String(writer), String(SPANS_EACH)]),
        );
        let running = children.length;
        for (const child of children) void child.finished.then(() => running--);
        // While they write: no event id twice in a SQL table, at any moment sampled.
        const samples: Counts[] = [];
        while (running > 0) {
          if (store.name !== 'Parquet') samples.push(await store.counts(url, table));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const said: string[] = [];
        for (const [writer, child] of children.entries()) {
          const finished = await child.finished;
          expect(finished.code, finished.stdout + finished.stderr).toBe(0);
          expect(finished.stdout, finished.stderr).toContain(`done ${writer} spilled-left 0 pruned true`);
          if (finished.stderr.trim() !== '') said.push(`writer ${writer}: ${finished.stderr.trim()}`);
        }
        for (const sample of samples) expect(sample.rows).toBe(sample.distinct);
        // No retention run failed: its DELETE neither waits for the writers' inserts nor deadlocks with them.
        expect(said.filter((line) => /could not remove the rows/.test(line))).toEqual([]);

        const expected = WRITERS * SPANS_EACH + SPILLED;
        const perWriter = Object.fromEntries(
          Array.from({ length: WRITERS }, (_, writer) => [`writer-${writer}`, SPANS_EACH]),
        );
        const counted = await store.counts(url, table);
        // What the writers printed (a warning of a failed run) says why a count is wrong.
        expect(counted.distinct, said.join('\n')).toBe(expected);
        expect(counted.old, said.join('\n')).toBe(0);
        expect(counted.perWriter).toEqual(perWriter);
        if (store.name !== 'Parquet') {
          expect(counted.rows).toBe(expected);
          return;
        }
        // Parquet: writers 0 and 1 each replayed the spilled batch into files of their own.
        expect(counted.rows).toBe(expected + 2 * SPILLED);
        // The docs' query counts each once now; after compact, every row is there once.
        const dataset = join(url, table);
        const [once] = await queryDataset(
          dataset,
          `SELECT count(*) AS n FROM (SELECT * FROM {dataset} QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY filename) = 1)`,
        );
        expect(Number(once!.n)).toBe(expected);
        const today = new Date().toISOString().slice(0, 10);
        const compacted = await runCli(['compact', '--date', today], {
          LLAMONITOR_URL: url,
          LLAMONITOR_TABLE: table,
        });
        expect(compacted.code, compacted.stdout).toBe(0);
        expect(await store.counts(url, table)).toEqual({ ...counted, rows: expected });
      },
    );
  });
}
