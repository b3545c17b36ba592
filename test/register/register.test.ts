import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { runNode, startNode } from '../support/child-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llamonitor-register-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function parquetRows(dataset: string): Promise<Record<string, unknown>[]> {
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  const reader = await duck.runAndReadAll(
    `SELECT span_id, session_id, operation_type, text_custom_metrics->>'input_tokens' AS input_tokens, custom_attributes
       FROM read_parquet('${dataset}/**/*.parquet') ORDER BY timestamp`,
  );
  return reader.getRowObjectsJson() as Record<string, unknown>[];
}

function parquetEnv(name: string): Record<string, string> {
  return { LLAMONITOR_URL: join(dir, name), LLAMONITOR_SPILL_DIR: join(dir, `${name}-spill`) };
}

describe('node --import llamonitor-otel/register (Parquet)', () => {
  it('stores every span of an ES module app that simply ends', async () => {
    const run = await runNode(['--import', 'llamonitor-otel/register', 'test/fixtures/apps/llm-app.mjs'], {
      ...parquetEnv('esm'),
      APP_SPANS: '7',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = await parquetRows(join(dir, 'esm', 'metric_events'));
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r.session_id === 'esm-session' && r.operation_type === 'llm_call')).toBe(true);
  });

  it('stores every span of a CommonJS app under --require', async () => {
    const run = await runNode(['--require', 'llamonitor-otel/register', 'test/fixtures/apps/llm-app.cjs'], {
      ...parquetEnv('cjs'),
      APP_SPANS: '4',
    });
    expect(run.code).toBe(0);
    const rows = await parquetRows(join(dir, 'cjs', 'metric_events'));
    expect(rows.map((r) => r.input_tokens)).toEqual(['10', '11', '12', '13']);
  });

  it('puts OTEL_SERVICE_NAME in each row', async () => {
    await runNode(['--import', 'llamonitor-otel/register', 'test/fixtures/apps/llm-app.mjs'], {
      ...parquetEnv('service'),
      APP_SPANS: '1',
      OTEL_SERVICE_NAME: 'checkout-bot',
    });
    const [row] = await parquetRows(join(dir, 'service', 'metric_events'));
    expect(JSON.parse(String(row?.custom_attributes)).service_name).toBe('checkout-bot');
  });

  it('loses none of the spans that had ended when SIGTERM came, and still ends by the signal', async () => {
    const app = startNode(
      ['--import', 'llamonitor-otel/register', 'test/fixtures/apps/burst-app.mjs'],
      parquetEnv('burst'),
    );
    let exited = false;
    void app.finished.then(() => (exited = true));
    try {
      // Bounded: a loaded machine may start the child slowly, but it must print its spans in the end.
      const started = Date.now();
      while (app.stdout().split('\n').length < 3_000) {
        if (exited) {
          const { code, signal, stderr } = await app.finished;
          throw new Error(
            `the burst app ended (${code ?? signal}) before 3,000 spans: ${stderr.slice(-1_000)}`,
          );
        }
        if (Date.now() - started > 90_000)
          throw new Error('the burst app did not end 3,000 spans within 90 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    } catch (error) {
      app.child.kill('SIGKILL');
      throw error;
    }
    const endedBeforeSignal = app.stdout().split('\n').filter(Boolean).length;
    app.child.kill('SIGTERM');
    const run = await app.finished;
    expect(run.signal).toBe('SIGTERM');
    // Spans keep ending while shutdown runs; those after it began are not exported. So the rows must be
    // exactly the first spans that ended, each once, at least all that had ended when the signal was sent.
    const ended = run.stdout.split('\n').filter(Boolean);
    const stored = (await parquetRows(join(dir, 'burst', 'metric_events'))).map((r) => r.span_id as string);
    expect(new Set(stored).size).toBe(stored.length);
    expect(stored.length).toBeGreaterThanOrEqual(endedBeforeSignal);
    expect(new Set(stored)).toEqual(new Set(ended.slice(0, stored.length)));
  }, 180_000);

  it('says so and registers nothing when a tracer provider is already registered', async () => {
    const run = await runNode(
      [
        '--import',
        './test/fixtures/apps/pre-register.mjs',
        '--import',
        'llamonitor-otel/register',
        'test/fixtures/apps/llm-app.mjs',
      ],
      parquetEnv('second'),
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/a tracer provider is already registered.*did not register a second one/);
  });
});

describe('node --import llamonitor-otel/register with a bad LLAMONITOR_* value', () => {
  it.each([
    ['LLAMONITOR_URL', 'mongodb://admin:hunter2@db/x', /LLAMONITOR_URL=mongodb:\/\/admin:\*\*\*\*@db\/x is not allowed: unknown scheme 'mongodb:'/],
    ['LLAMONITOR_SPANS', 'some', /LLAMONITOR_SPANS=some is not allowed: use 'llm' or 'all'/],
    ['LLAMONITOR_POOL_SIZE', '-3', /LLAMONITOR_POOL_SIZE=-3 is not allowed: use a whole number from 1 to 1000/],
    ['LLAMONITOR_TABLE', 'metric events', /LLAMONITOR_TABLE=metric events is not allowed: use 1 to 63 letters/],
  ])('%s=%s stops start-up with a message and a non-zero exit', async (variable, value, message) => {
    const run = await runNode(['--import', 'llamonitor-otel/register', 'test/fixtures/apps/llm-app.mjs'], {
      ...parquetEnv('bad'),
      [variable]: value,
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain('hunter2');
  }); // prettier-ignore
});

describe.skipIf(!(await postgresAvailable()))('node --import llamonitor-otel/register (PostgreSQL)', () => {
  const table = uniqueName('register_pg');
  afterAll(async () => {
    const client = new pg.Client(POSTGRES_URL);
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  });

  it('stores every span of an ES module app in the table it creates', async () => {
    const run = await runNode(['--import', 'llamonitor-otel/register', 'test/fixtures/apps/llm-app.mjs'], {
      LLAMONITOR_URL: POSTGRES_URL,
      LLAMONITOR_TABLE: table,
      LLAMONITOR_SPILL_DIR: join(dir, 'pg-spill'),
      APP_SPANS: '6',
    });
    expect(run.code).toBe(0);
    const client = new pg.Client(POSTGRES_URL);
    await client.connect();
    const { rows } = await client.query(`SELECT count(*)::int AS n, min(session_id) AS s FROM ${table}`);
    await client.end();
    expect(rows[0]).toEqual({ n: 6, s: 'esm-session' });
  });
});

describe.skipIf(!(await mysqlAvailable()))('node --require llamonitor-otel/register (MySQL)', () => {
  const table = uniqueName('register_my');
  afterAll(async () => {
    const connection = await mysql.createConnection(MYSQL_URL);
    await connection.query(`DROP TABLE IF EXISTS ${table}`);
    await connection.end();
  });

  it('stores every span of a CommonJS app in the table it creates', async () => {
    const run = await runNode(['--require', 'llamonitor-otel/register', 'test/fixtures/apps/llm-app.cjs'], {
      LLAMONITOR_URL: MYSQL_URL,
      LLAMONITOR_TABLE: table,
      LLAMONITOR_SPILL_DIR: join(dir, 'my-spill'),
      APP_SPANS: '3',
    });
    expect(run.code).toBe(0);
    const connection = await mysql.createConnection(MYSQL_URL);
    const [rows] = await connection.query(`SELECT count(*) AS n, min(session_id) AS s FROM ${table}`);
    await connection.end();
    expect(rows).toEqual([{ n: 3, s: 'cjs-session' }]);
  });
});
