import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTION_SPECS } from '../../src/config/options.js';
import { fitRow } from '../../src/schema/fit-row.js';
import { SpillStore } from '../../src/spill/spill-store.js';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { runCli } from '../support/child-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llamonitor-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function lines(output: string): string[] {
  return output.split('\n').filter((l) => l.startsWith('['));
}

describe('llamonitor --help', () => {
  it('lists the commands and every option with its environment variable', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['migrate', 'doctor', 'replay']) expect(run.stdout).toContain(command);
    for (const spec of OPTION_SPECS) expect(run.stdout).toContain(spec.env);
    expect(run.stdout).toContain('--pool-size');
  });

  it('gives each subcommand its own help', async () => {
    const run = await runCli(['doctor', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: llamonitor doctor/);
  });

  it('refuses an unknown command with exit code 2', async () => {
    const run = await runCli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/unknown command 'frobnicate'/);
  });
});

describe('llamonitor doctor', () => {
  it('passes every check on a Parquet folder', async () => {
    const run = await runCli(['doctor', '--url', join(dir, 'doctor-parquet')]);
    expect(lines(run.stdout).every((l) => l.startsWith('[ok]'))).toBe(true);
    expect(lines(run.stdout)).toHaveLength(8);
    expect(run.code).toBe(0);
  });

  it('fails at connect against a server that is down, says what to do, and never shows the password', async () => {
    const run = await runCli(['doctor'], {
      LLAMONITOR_URL: 'postgres://postgres:S3cret-pw@127.0.0.1:1/test',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/\[fail\] connect: .*\n\s+what to do: check that the server runs/);
    expect(run.stdout).toMatch(/\[skip\] table/);
    expect(run.stdout + run.stderr).not.toContain('S3cret-pw');
  });

  it('refuses a bad option value, naming the variable', async () => {
    const run = await runCli(['doctor', '--pool-size=-3']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/\[fail\] configuration: LLAMONITOR_POOL_SIZE=-3 is not allowed/);
  });
});

describe.skipIf(!(await postgresAvailable()))('llamonitor with PostgreSQL', () => {
  const table = uniqueName('cli_pg');
  afterAll(async () => {
    const client = new pg.Client(POSTGRES_URL);
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  });

  it('doctor says to run migrate when the table is missing', async () => {
    const run = await runCli(['doctor', '--url', POSTGRES_URL, '--table', table]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/\[fail\] table: .*\n\s+what to do: run `llamonitor migrate`/);
  });

  it('migrate creates the table and its indexes, then doctor passes every check and leaves no probe row', async () => {
    const migrate = await runCli(['migrate', '--url', POSTGRES_URL, '--table', table]);
    expect(migrate.code).toBe(0);
    const doctor = await runCli(['doctor'], { LLAMONITOR_URL: POSTGRES_URL, LLAMONITOR_TABLE: table });
    expect(lines(doctor.stdout).filter((l) => !l.startsWith('[ok]'))).toEqual([]);
    expect(doctor.code).toBe(0);
    const client = new pg.Client(POSTGRES_URL);
    await client.connect();
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${table}`);
    const indexes = await client.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = $1`, [
      table,
    ]);
    await client.end();
    expect(rows[0].n).toBe(0);
    expect(indexes.rows[0].n).toBe(7); // the primary key and the six indexes
  });
});

describe.skipIf(!(await mysqlAvailable()))('llamonitor with MySQL', () => {
  const table = uniqueName('cli_my');
  afterAll(async () => {
    const connection = await mysql.createConnection(MYSQL_URL);
    await connection.query(`DROP TABLE IF EXISTS ${table}`);
    await connection.end();
  });

  it('migrate, then doctor passes every check', async () => {
    expect((await runCli(['migrate', '--url', MYSQL_URL, '--table', table])).code).toBe(0);
    const doctor = await runCli(['doctor', '--url', MYSQL_URL, '--table', table]);
    expect(lines(doctor.stdout).filter((l) => !l.startsWith('[ok]'))).toEqual([]);
    expect(doctor.code).toBe(0);
  });
});

describe('llamonitor replay', () => {
  it('sends every spilled batch to the configured sink and empties the spill folder', async () => {
    const spillDir = join(dir, 'replay-spill');
    const store = new SpillStore(spillDir, 1 << 30);
    const row = (i: number) =>
      fitRow({
        event_id: `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`,
        schema_version: '1.0.0',
        session_id: 'spilled',
        trace_id: '0af7651916cd43dd8448eb211c80319c',
        span_id: i.toString(16).padStart(16, '0'),
        operation_name: 'chat',
        operation_type: 'llm_call',
        timestamp: '2026-11-28T05:37:55.000001Z',
      });
    await store.store([row(1), row(2)], { table: 'metric_events' }, 'postgres was down');
    await store.store([row(3)], { table: 'metric_events' }, 'postgres was down');
    const target = join(dir, 'replay-target');
    const run = await runCli(['replay', '--url', target, '--spill-dir', spillDir]);
    expect(run.stdout).toMatch(/replayed 3 rows from 2 files/);
    expect(run.code).toBe(0);
    expect(await readdir(spillDir)).toEqual([]);
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    const reader = await duck.runAndReadAll(
      `SELECT count(*)::INTEGER AS n FROM read_parquet('${target}/metric_events/**/*.parquet')`,
    );
    expect(reader.getRowObjectsJson()).toEqual([{ n: 3 }]);
  });
});
