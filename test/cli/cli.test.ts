import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagOf } from '../../src/cli/arguments.js';
import { OPTION_SPECS } from '../../src/config/options.js';
import { ADDED_COLUMNS, COLUMNS, INDEXES } from '../../src/schema/columns.js';
import { columnTypes } from '../../src/sinks/registry.js';
import { releaseTableDdl } from '../support/release-tables.js';
import { fitRow } from '../../src/schema/fit-row.js';
import { DeadLetterStore } from '../../src/spill/dead-letter.js';
import { SpillStore } from '../../src/spill/spill-store.js';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { REPO, runCli } from '../support/child-process.js';

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

/** The flags a help text lists, in its order. */
function flagsIn(help: string): string[] {
  return [...help.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1] as string);
}

const GENERAL_FLAGS = ['--help', '--version'];

describe('llamonitor --help', () => {
  it('lists the commands and points at their own help', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['migrate', 'doctor', 'replay'])
      expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(run.stdout).toContain('llamonitor <command> --help');
    expect(flagsIn(run.stdout)).toEqual(GENERAL_FLAGS);
  });

  it.each([
    ['migrate', ['--url', '--table', '--schema', '--pool-size', '--file-mode', '--partition', '--print-sql']],
    [
      'prune',
      [
        '--url',
        '--table',
        '--schema',
        '--pool-size',
        '--file-mode',
        '--retention-days',
        '--older-than',
        '--dry-run',
      ],
    ],
    [
      'compact',
      ['--url', '--table', '--schema', '--pool-size', '--parquet-file-rows', '--file-mode', '--date'],
    ],
    [
      'doctor',
      ['--url', '--table', '--schema', '--pool-size', '--spill-dir', '--export-timeout-ms', '--file-mode'],
    ],
    [
      'replay',
      [
        '--url',
        '--table',
        '--schema',
        '--pool-size',
        '--create-table',
        '--spill-dir',
        '--export-timeout-ms',
        '--parquet-file-rows',
        '--parquet-file-age-ms',
        '--file-mode',
      ],
    ],
  ])('gives %s its own help, which lists only the options it uses', async (command, flags) => {
    const run = await runCli([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`Usage: llamonitor ${command}`));
    expect(flagsIn(run.stdout)).toEqual([...flags, ...GENERAL_FLAGS]);
    for (const spec of OPTION_SPECS) {
      if (flags.includes(`--${flagOf(spec.env)}`)) expect(run.stdout).toContain(spec.env);
      else expect(run.stdout).not.toContain(spec.env);
    }
  });

  it("refuses, with exit code 2, an option the command does not use, naming it and the command's help", async () => {
    const run = await runCli(['migrate', '--spill-dir', dir]);
    expect(run.stdout).toBe(
      'llamonitor migrate has no option --spill-dir; llamonitor migrate --help lists its options\n',
    );
    expect(run.code).toBe(2);
  });

  it('refuses, with exit code 2, an argument the command does not take (the spill folder is --spill-dir)', async () => {
    const run = await runCli(['replay', dir]);
    expect(run.stdout).toBe(
      `llamonitor replay takes no argument '${dir}'; llamonitor replay --help lists its options\n`,
    );
    expect(run.code).toBe(2);
  });

  it('refuses an unknown command with exit code 2', async () => {
    const run = await runCli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/unknown command 'frobnicate'/);
  });
});

describe('llamonitor --version', () => {
  it.each(['--version', '-v', 'doctor --version'])(
    'prints the version of the package for `llamonitor %s`, and nothing else',
    async (line) => {
      const { version } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
        version: string;
      };
      const run = await runCli(line.split(' '));
      expect(run.stdout).toBe(`${version}\n`);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    },
  );
});

/** A spilled row as the exporter writes it. */
function spilledRow(i: number) {
  return fitRow({
    event_id: `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`,
    schema_version: '1.0.0',
    session_id: 'spilled',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: i.toString(16).padStart(16, '0'),
    operation_name: 'chat',
    operation_type: 'llm_call',
    timestamp: '2026-11-28T05:37:55.000001Z',
  });
}

/** A spill folder of two files holding three rows, as an exporter leaves it during an outage. */
async function spillTwoFiles(spillDir: string): Promise<void> {
  const store = new SpillStore(spillDir, 1 << 30);
  await store.store([spilledRow(1), spilledRow(2)], { table: 'metric_events' }, 'postgres was down');
  await store.store([spilledRow(3)], { table: 'metric_events' }, 'postgres was down');
}

describe('llamonitor doctor', () => {
  it('passes every check on a Parquet folder, and says that nothing waits in the spill folder', async () => {
    const spillDir = join(dir, 'doctor-no-spill');
    const run = await runCli(['doctor', '--url', join(dir, 'doctor-parquet'), '--spill-dir', spillDir]);
    expect(lines(run.stdout).every((l) => l.startsWith('[ok]'))).toBe(true);
    expect(lines(run.stdout)).toHaveLength(10);
    expect(lines(run.stdout).at(-2)).toMatch(/^\[ok\] {3}write-ahead log: no segment waiting in /);
    expect(lines(run.stdout).at(-1)).toBe(`[ok]   spill: nothing waiting (no spill folder at ${spillDir})`);
    expect(run.code).toBe(0);
  });

  it('reports the spilled rows waiting and since when, read from the headers, leaving every file where it was', async () => {
    const spillDir = join(dir, 'doctor-spill');
    await spillTwoFiles(spillDir);
    const files = (await readdir(spillDir)).sort();
    const created = await Promise.all(
      files.map(
        async (f) => JSON.parse((await readFile(join(spillDir, f), 'utf8')).split('\n')[0] as string).created,
      ),
    );
    const run = await runCli(['doctor', '--url', join(dir, 'doctor-parquet-2'), '--spill-dir', spillDir]);
    expect(lines(run.stdout).at(-1)).toBe(
      `[warn] spill: 3 rows in 2 files waiting in ${spillDir} since ${created.sort()[0]}; ` +
        '`llamonitor replay` sends them now, a running exporter also does in the background',
    );
    expect(run.code).toBe(0);
    expect((await readdir(spillDir)).sort()).toEqual(files);
  });

  it('counts a file that a replay holds as waiting, and names unreadable and set-aside files, moving none', async () => {
    const spillDir = join(dir, 'doctor-spill-odd');
    await spillTwoFiles(spillDir);
    const [first] = (await readdir(spillDir)).sort();
    // A replay in this (live) process holds the first file, as SpillStore.claim names it.
    await rename(join(spillDir, first as string), join(spillDir, `${first}.claim-${process.pid}`));
    await writeFile(join(spillDir, `spill-1764000000000-1-${randomUUID()}.ndjson`), 'not a header\n');
    await mkdir(join(spillDir, 'set-aside'));
    await writeFile(join(spillDir, 'set-aside', 'spill-damaged.ndjson'), '');
    const before = (await readdir(spillDir, { recursive: true })).sort();
    const run = await runCli(['doctor', '--url', join(dir, 'doctor-parquet-3'), '--spill-dir', spillDir]);
    expect(lines(run.stdout).at(-1)).toMatch(
      new RegExp(
        `^\\[warn\\] spill: 3 rows in 3 files waiting in ${spillDir} since \\S+Z; ` +
          '1 file with an unreadable header, which the replay will set aside; ' +
          `1 file set aside in ${spillDir}/set-aside for a person to look at; `,
      ),
    );
    expect((await readdir(spillDir, { recursive: true })).sort()).toEqual(before);
  });

  it('ends with the refused rows kept as dead letters, which no replay retries, and leaves them where they are', async () => {
    const spillDir = join(dir, 'doctor-dead-letters');
    const store = new DeadLetterStore(spillDir);
    const refused = [spilledRow(1), spilledRow(2)].map((row) => ({
      row,
      error: 'new row violates check constraint "no_poison" (23514)',
      code: '23514',
    }));
    await store.store(refused, { table: 'metric_events' }, 'export');
    const before = await readdir(store.directory);
    const run = await runCli(['doctor', '--url', join(dir, 'doctor-parquet-4'), '--spill-dir', spillDir]);
    expect(lines(run.stdout).at(-1)).toBe(
      `[warn] dead letters: 2 rows the store refused, kept in 1 file in ${store.directory} ` +
        '(the first error: new row violates check constraint "no_poison" (23514)); they are never retried: ' +
        'fix the cause, then write them back by hand',
    );
    expect(run.code).toBe(0);
    expect(await readdir(store.directory)).toEqual(before);
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
    const doctor = await runCli(['doctor'], {
      LLAMONITOR_URL: POSTGRES_URL,
      LLAMONITOR_TABLE: table,
      LLAMONITOR_SPILL_DIR: join(dir, 'no-spill'),
    });
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
    expect(indexes.rows[0].n).toBe(INDEXES.length + 1); // and the primary key's
  });

  it('on a table of the 1.0 release: doctor names the missing columns and the command, migrate --print-sql shows it, migrate does it', async () => {
    const old = uniqueName('cli_pg_10');
    const client = new pg.Client(POSTGRES_URL);
    await client.connect();
    try {
      await client.query(releaseTableDdl('postgres', old));
      const env = {
        LLAMONITOR_URL: POSTGRES_URL,
        LLAMONITOR_TABLE: old,
        LLAMONITOR_SPILL_DIR: join(dir, 'no-spill'),
      };
      const before = await runCli(['doctor'], env);
      expect(before.code).toBe(0);
      expect(lines(before.stdout).filter((l) => !l.startsWith('[ok]'))).toEqual([
        `[warn] schema: ${old} lacks the schema 1.1.0 columns ${ADDED_COLUMNS.map((c) => c.name).join(', ')}; ` +
          `index (model, timestamp); rows are stored without them. Run: llamonitor migrate --table ${old} (with the same LLAMONITOR_URL)`,
      ]);
      const printed = await runCli(['migrate', '--print-sql'], env);
      expect(printed.code).toBe(0);
      expect(printed.stdout.trimEnd().split('\n')).toEqual([
        `ALTER TABLE "${old}" ${ADDED_COLUMNS.map((c) => `ADD COLUMN IF NOT EXISTS "${c.name}" ${columnTypes(c).get('postgres')}`).join(', ')};`,
        `CREATE INDEX CONCURRENTLY IF NOT EXISTS "${old}_model_idx" ON "${old}" ("model", "timestamp" DESC);`,
      ]);
      const columnsAfterPrint = await client.query(
        `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = $1`,
        [old],
      );
      expect(columnsAfterPrint.rows[0].n).toBe(COLUMNS.length - ADDED_COLUMNS.length);
      const migrated = await runCli(['migrate'], env);
      expect(migrated.code).toBe(0);
      const after = await runCli(['doctor'], env);
      expect(lines(after.stdout).filter((l) => !l.startsWith('[ok]'))).toEqual([]);
      expect(lines(after.stdout)).toContain(`[ok]   schema: ${old} is at schema 1.1.0`);
      expect((await runCli(['migrate', '--print-sql'], env)).stdout).toMatch(
        new RegExp(`^-- nothing to change: postgres \\S+, table ${old} is at schema 1\\.1\\.0\\n$`),
      );
    } finally {
      await client.query(`DROP TABLE IF EXISTS "${old}"`);
      await client.end();
    }
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
    const doctor = await runCli([
      'doctor',
      '--url',
      MYSQL_URL,
      '--table',
      table,
      '--spill-dir',
      join(dir, 'no-spill'),
    ]);
    expect(lines(doctor.stdout).filter((l) => !l.startsWith('[ok]'))).toEqual([]);
    expect(doctor.code).toBe(0);
  });
});

describe('llamonitor replay', () => {
  it('sends every spilled batch to the configured sink and empties the spill folder', async () => {
    const spillDir = join(dir, 'replay-spill');
    await spillTwoFiles(spillDir);
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

  it.each([
    ['--spill-dir', (missing: string) => ['--spill-dir', missing], {}],
    ['LLAMONITOR_SPILL_DIR', () => [], (missing: string) => ({ LLAMONITOR_SPILL_DIR: missing })],
  ] as const)(
    'fails with exit code 2, naming the folder, when the spill folder given by %s does not exist',
    async (_how, flags, variables) => {
      const missing = join(dir, 'no-such-spill-folder');
      const target = join(dir, 'replay-never');
      const run = await runCli(
        ['replay', '--url', target, ...flags(missing)],
        typeof variables === 'function' ? variables(missing) : variables,
      );
      expect(run.stdout).toBe(
        `llamonitor replay: the spill folder ${missing} does not exist: ` +
          'give --spill-dir (or LLAMONITOR_SPILL_DIR) the folder your application spills into\n',
      );
      expect(run.code).toBe(2);
      await expect(readdir(target)).rejects.toThrow(/ENOENT/);
    },
  );
});
