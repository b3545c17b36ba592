/**
 * A spill file edited by hand (its checksum made to match) is read as
 * untrusted: every row is fitted to its columns as the mapping's rows are, and
 * every value reaches the bulk formats escaped. Into real PostgreSQL, MariaDB
 * and Parquet, `llamonitor replay` stores no more rows than the file declares,
 * reports no more than it stored, and sets aside with its reason a file it
 * cannot store.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { MetricEvent } from '../../src/schema/columns.js';
import type { DelimitedDialect } from '../../src/sinks/delimited-text.js';
import { runCli } from '../support/child-process.js';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { sampleRows } from '../support/sample-rows.js';
import { withForgedRow } from './forged-row.js';

let spillDir: string;
beforeEach(async () => {
  spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-edited-spill-'));
  return () => rm(spillDir, { recursive: true, force: true });
});

/** Writes a spill file holding `rows` as given, its header and checksum made to match, as an attacker would. */
async function handEdited(rows: readonly Record<string, unknown>[], epochMillis: number): Promise<string> {
  const body = rows
    .map((row) => JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n')
    .join('');
  const header = {
    format: 'llamonitor-spill/1',
    table: 'metric_events',
    schema: null,
    rows: rows.length,
    created: new Date(epochMillis).toISOString(),
    reason: 'edited by hand',
    sha256: createHash('sha256').update(body).digest('hex'),
  };
  const name = `spill-${epochMillis}-1-${randomUUID()}.ndjson`;
  await writeFile(join(spillDir, name), `${JSON.stringify(header)}\n${body}`);
  return name;
}

/**
 * Two files: one that declares one row whose duration_ms is a string holding a
 * newline and a whole second row in the sink's bulk format (a forged session),
 * and one whose second row has a timestamp that is no instant.
 */
async function spillHandEditedFiles(dialect: DelimitedDialect, badTimestamp: unknown) {
  const [real, forged, good, bad] = sampleRows(4, { seed: randomUUID() });
  const forgedRow = { ...forged, session_id: 'forged' } as MetricEvent;
  const realRow = { ...real, session_id: 'real' } as MetricEvent;
  await handEdited([withForgedRow(dialect, realRow, forgedRow)], 1_772_000_000_000);
  const unstorable = await handEdited(
    [
      { ...good, session_id: 'good' } as Record<string, unknown>,
      { ...bad, session_id: 'bad', timestamp: badTimestamp } as Record<string, unknown>,
    ],
    1_772_000_000_001,
  );
  return { unstorable };
}

/** Replays the folder into `url` with the CLI and checks what it said and set aside. */
async function replayInto(url: string, table: string | undefined, unstorable: string) {
  const run = await runCli([
    'replay',
    '--url',
    url,
    ...(table ? ['--table', table] : []),
    '--spill-dir',
    spillDir,
  ]);
  expect(run.stdout, run.stderr).toMatch(/replayed 1 rows from 1 files .*; set 1 unusable files aside/);
  expect(run.code).toBe(0);
  const setAside = join(spillDir, 'set-aside');
  expect((await readdir(setAside)).sort()).toEqual([unstorable, `${unstorable}.reason.txt`]);
  expect(await readFile(join(setAside, `${unstorable}.reason.txt`), 'utf8')).toMatch(
    /row 2 cannot be stored: metric_events\.timestamp/,
  );
  expect((await readdir(spillDir)).filter((n) => n.startsWith('spill-'))).toEqual([]);
}

describe.skipIf(!(await postgresAvailable()))('replaying hand-edited spill files into PostgreSQL', () => {
  const table = uniqueName('edited_spill');
  afterAll(async () => {
    const client = new pg.Client(POSTGRES_URL);
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  });

  it('stores the one row declared, with its string duration as null, and sets the file with a bad timestamp aside', async () => {
    const { unstorable } = await spillHandEditedFiles('postgres', 'yesterday');
    await replayInto(POSTGRES_URL, table, unstorable);
    const client = new pg.Client(POSTGRES_URL);
    await client.connect();
    const { rows } = await client.query(`SELECT session_id, duration_ms FROM ${table}`);
    await client.end();
    expect(rows).toEqual([{ session_id: 'real', duration_ms: null }]);
  });
});

describe.skipIf(!(await mysqlAvailable()))('replaying hand-edited spill files into MariaDB', () => {
  const table = uniqueName('edited_spill');
  afterAll(async () => {
    const connection = await mysql.createConnection(MYSQL_URL);
    await connection.query(`DROP TABLE IF EXISTS ${table}`);
    await connection.end();
  });

  it('stores the one row declared, and sets aside the file whose timestamp is a number', async () => {
    const { unstorable } = await spillHandEditedFiles('mysql', 1_772_359_200);
    await replayInto(MYSQL_URL, table, unstorable);
    const connection = await mysql.createConnection(MYSQL_URL);
    const [rows] = await connection.query(`SELECT session_id, duration_ms FROM ${table}`);
    await connection.end();
    expect(rows).toEqual([{ session_id: 'real', duration_ms: null }]);
  });
});

describe('replaying hand-edited spill files into Parquet', () => {
  it('stores the one row declared, and reports no row of the file it set aside', async () => {
    const { unstorable } = await spillHandEditedFiles('postgres', 'yesterday');
    const data = await mkdtemp(join(tmpdir(), 'llamonitor-edited-parquet-'));
    try {
      await replayInto(data, undefined, unstorable);
      const duck = await (await DuckDBInstance.create(':memory:')).connect();
      const reader = await duck.runAndReadAll(
        `SELECT session_id, duration_ms FROM read_parquet('${data}/metric_events/**/*.parquet')`,
      );
      expect(reader.getRowObjectsJson()).toEqual([{ session_id: 'real', duration_ms: null }]);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
