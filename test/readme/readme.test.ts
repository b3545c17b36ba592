/**
 * The README, run as a user would run it: the package packed and installed
 * offline into a new ES module application together with everything the
 * README says to install, an application that calls the `openai` client (its
 * base URL pointed at the fake server on 127.0.0.1, as OPENAI_BASE_URL does),
 * and then each code block, taken from README.md itself, run in that
 * application. The only edits made to a block: placeholder database URLs
 * become the test database, and each run gets a table of its own.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installIntoNewApp, packFreshClone, type Packed } from '../package/packed-app.js';
import { REPO, type Finished } from '../support/child-process.js';
import mysql from 'mysql2/promise';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { chatCostUsd } from '../conformance/expected.js';
import { CHAT_ANSWER, startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server.js';
import { freePort, prometheusAvailable, startPrometheus } from '../support/prometheus.js';
import { npmInstallPackages, readmeBlock, readmeBlocks, shellCommands } from './readme-blocks.js';

const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const blocks = readmeBlocks(README);
const block = (name: string) => readmeBlock(blocks, name);

/** Every block name this test runs; a README block with another name, or none, fails the first test. */
const RUN_HERE = [
  'install',
  'instrumentation',
  'run',
  'query-parquet',
  'run-postgres',
  'setup-provider',
  'setup-nodesdk',
  'setup-exporter',
  'cli',
  'cost-parquet',
  'cost-postgres',
  'cost-mysql',
  'prices-file',
  'metrics-run',
  'metrics-scrape',
  'serve',
  'clone',
] as const;

/** The placeholder URLs of the README's database examples, which stand for the test's database. */
const PLACEHOLDER_URL = /postgres:\/\/(?:llamonitor|owner):secret@db:5432\/observability/g;

/** What the application does: two questions through the official client, as any application would. */
const APP = `import OpenAI from 'openai';

const client = new OpenAI(); // OPENAI_BASE_URL and OPENAI_API_KEY from the environment
for (const question of ['Where is my order?', 'Can I change the delivery address?']) {
  const answer = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: question }],
  });
  console.log(answer.choices[0].message.content);
}
if (process.env.APP_STAY === '1') setInterval(() => {}, 60_000); // a server: up until it is stopped
`;
const CALLS = 2;

/** Packages every `npm install` of the README names, in code blocks and in the text. */
function packagesTheReadmeInstalls(): string[] {
  const lines = [...README.matchAll(/npm install [^`\n]+/g)].map((m) => m[0]);
  const names = lines
    .filter((line) => !/^npm install\s*&&/.test(line))
    .flatMap((line) => npmInstallPackages(line));
  return [...new Set(names)].filter((name) => name !== 'llamonitor-otel');
}

const available = {
  postgres: await postgresAvailable(),
  mysql: await mysqlAvailable(),
  prometheus: prometheusAvailable(),
};

/** The statements of a SQL block, without their closing semicolons. */
function statements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}

/**
 * What the cost queries answer for the application's calls: the instrumentation records no cached
 * tokens, so the whole input is at the input rate; each call is its own trace, so its own session.
 */
const CALL_COST = chatCostUsd(false);

describe('the README code blocks', () => {
  it('are each named by a readme-test comment that this test runs', () => {
    const unnamed = blocks.filter((b) => b.name === undefined).map((b) => `README.md:${b.line}`);
    expect(unnamed, 'blocks without a <!-- readme-test: name --> line before them').toEqual([]);
    expect(blocks.map((b) => b.name).sort()).toEqual([...RUN_HERE].sort());
  });
});

describe('the README, followed in a new application', () => {
  let packed: Packed;
  let app: string;
  let server: FakeLlmServer;
  const pgAdmin = new pg.Client({ connectionString: POSTGRES_URL });
  const tables: string[] = [];

  /** The environment a README command runs in: this one's without LLAMONITOR_*, the fake server's URL, `env`. */
  function shellEnv(env: Record<string, string>): NodeJS.ProcessEnv {
    return {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LLAMONITOR_'))),
      PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}`,
      OPENAI_BASE_URL: server.baseURL,
      OPENAI_API_KEY: 'sk-readme-test',
      ...env,
    };
  }

  /** Runs one shell command line of the README in the application's folder (bounded; never throws). */
  function shell(line: string, env: Record<string, string> = {}): Promise<Finished> {
    const child = spawn('sh', ['-c', line], {
      cwd: app,
      env: shellEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    return new Promise((resolve) =>
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      }),
    );
  }

  /** Starts one shell command line of the README that runs until stopped (a server); stop() ends its process group. */
  function startShell(
    line: string,
    env: Record<string, string>,
  ): { output: () => string; stop: () => Promise<void> } {
    const child = spawn('sh', ['-c', line], {
      cwd: app,
      detached: true,
      env: shellEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    return {
      output: () => output,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
        await closed;
      },
    };
  }

  function expectSuccess(finished: Finished, what: string): void {
    expect(finished.code, `${what}\nstdout: ${finished.stdout}\nstderr: ${finished.stderr}`).toBe(0);
  }

  /** A DuckDB query run from the application's folder, so that the README's relative paths hold. */
  async function duckdb(sql: string): Promise<Record<string, unknown>[]> {
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    const previous = process.cwd();
    process.chdir(app);
    try {
      const rows = (await connection.runAndReadAll(sql)).getRowObjectsJS();
      // Counts and sums come back as BIGINT: compare them as the numbers they are.
      return rows.map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
      );
    } finally {
      process.chdir(previous);
    }
  }

  async function parquetRows(folder: string): Promise<number> {
    const [row] = await duckdb(
      `SELECT count(*) AS n FROM read_parquet('${folder}/metric_events/**/*.parquet', hive_partitioning = true)`,
    );
    return Number(row?.n);
  }

  async function postgresRows(table: string): Promise<number> {
    const result = await pgAdmin.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(result.rows[0]?.n);
  }

  function newTable(): string {
    const table = uniqueName('readme');
    tables.push(table);
    return table;
  }

  beforeAll(async () => {
    server = await startFakeLlmServer();
    packed = await packFreshClone();
    // The application's own client and tracing SDK, and what the README tells it to install.
    app = await installIntoNewApp(packed, [
      'openai',
      '@opentelemetry/sdk-node',
      ...packagesTheReadmeInstalls(),
    ]);
    await writeFile(join(app, 'app.mjs'), APP);
    if (available.postgres) await pgAdmin.connect();
  }, 240_000);

  afterAll(async () => {
    if (available.postgres) {
      for (const table of tables) await pgAdmin.query(`DROP TABLE IF EXISTS ${table}`);
      await pgAdmin.end();
    }
    await server?.close();
    if (packed) await rm(packed.folder, { recursive: true, force: true });
  });

  it('install: installs the package and every package the first command names', () => {
    const [line] = shellCommands(block('install').code);
    const names = npmInstallPackages(line as string);
    expect(names[0]).toBe('llamonitor-otel');
    for (const name of names)
      expect(existsSync(join(app, 'node_modules', name, 'package.json')), name).toBe(true);
  });

  it('quick start: the instrumentation file and the one-line start store every call as Parquet rows', async () => {
    await writeFile(join(app, 'instrumentation.mjs'), block('instrumentation').code);
    const [command] = shellCommands(block('run').code);
    const ran = await shell(command as string);
    expectSuccess(ran, command as string);
    expect(ran.stdout).toContain(CHAT_ANSWER.text as string);
    expect(ran.stderr, 'no warning when every call is stored').toBe('');
    expect(await parquetRows('llamonitor-data')).toBe(CALLS);
  });

  it('quick start: the DuckDB query answers with the calls and the tokens the server counted', async () => {
    const rows = await duckdb(block('query-parquet').code);
    expect(rows).toEqual([
      {
        model: 'gpt-4o-mini', // the model the application asked for (the response names a dated snapshot)
        provider: 'openai',
        calls: CALLS,
        input_tokens: CALLS * CHAT_ANSWER.usage.prompt_tokens,
        output_tokens: CALLS * CHAT_ANSWER.usage.completion_tokens,
        avg_ms: expect.any(Number),
        errors: 0,
      },
    ]);
  });

  it.runIf(available.postgres)(
    'quick start: with the PostgreSQL driver and a postgres:// URL, the rows go to PostgreSQL',
    async () => {
      const [install, command] = shellCommands(block('run-postgres').code);
      for (const name of npmInstallPackages(install as string)) {
        expect(existsSync(join(app, 'node_modules', name, 'package.json')), name).toBe(true);
      }
      const table = newTable();
      const line = (command as string).replace(PLACEHOLDER_URL, POSTGRES_URL);
      expect(line).not.toBe(command);
      const ran = await shell(line, { LLAMONITOR_TABLE: table });
      expectSuccess(ran, line);
      expect(await postgresRows(table)).toBe(CALLS);
    },
  );

  for (const name of ['setup-provider', 'setup-nodesdk', 'setup-exporter'] as const) {
    it(`${name}: the telemetry file stores every call, started as its first line says`, async () => {
      const code = block(name).code;
      const command = /^\/\/ telemetry\.mjs: (.+)$/m.exec(code)?.[1];
      expect(command, 'the first line says how to start it').toBeDefined();
      await writeFile(join(app, 'telemetry.mjs'), code);
      const folder = `data-${name}`;
      const ran = await shell(command as string, {
        LLAMONITOR_URL: folder,
        LLAMONITOR_SPILL_DIR: `spill-${name}`,
      });
      expectSuccess(ran, command as string);
      expect(ran.stderr).toBe('');
      expect(await parquetRows(folder)).toBe(CALLS);
    });
  }

  it.runIf(available.postgres)(
    'cli: migrate, doctor, replay of spilled rows, stats, reprice, prune and --version work as shown',
    async () => {
      const lines = shellCommands(block('cli').code).map((line) =>
        line.replace(PLACEHOLDER_URL, POSTGRES_URL),
      );
      const table = newTable();
      const env = { LLAMONITOR_TABLE: table };
      const [printSql, migrate, doctor, replay, price, stats, reprice, prune, compact, version] = lines as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];

      const printed = await shell(printSql, env);
      expectSuccess(printed, printSql);
      expect(printed.stdout).toMatch(new RegExp(`^CREATE TABLE IF NOT EXISTS "${table}" \\(`, 'm'));
      expect(printed.stdout).toContain(`CREATE INDEX IF NOT EXISTS "${table}_model_idx"`);
      await expect(postgresRows(table), 'print-sql creates nothing').rejects.toThrow(/does not exist/);
      expectSuccess(await shell(migrate, env), migrate);
      expect(await postgresRows(table)).toBe(0);

      const checked = await shell(doctor, env);
      expectSuccess(checked, doctor);
      expect(checked.stdout).not.toMatch(/\[fail\]/);

      // Rows spilled while the database was away (a port nothing listens on), as an outage leaves them.
      await rm(join(app, 'llamonitor-spill'), { recursive: true, force: true });
      const away = await shell(
        'node --import llamonitor-otel/register --import ./instrumentation.mjs app.mjs',
        {
          LLAMONITOR_URL: 'postgres://postgres@127.0.0.1:1/test',
          LLAMONITOR_TABLE: table,
          LLAMONITOR_EXPORT_TIMEOUT_MS: '1000',
        },
      );
      expectSuccess(away, 'the application while the database is away');
      expect(away.stderr, 'the first failure is said once, on the console').toMatch(/llamonitor-otel: /);
      expect(await postgresRows(table)).toBe(0);

      expectSuccess(await shell(replay, { ...env, LLAMONITOR_URL: POSTGRES_URL }), replay);
      expect(await postgresRows(table)).toBe(CALLS);

      const priced = await shell(price);
      expectSuccess(priced, price);
      expect(priced.stdout).toContain('priced as  openai:gpt-4o-mini\n');

      // The replayed calls: stats sums them, reprice (with the prices they were stored with) changes none.
      const summed = await shell(stats, env);
      expectSuccess(summed, stats);
      expect(summed.stdout).toMatch(new RegExp(`^gpt-4o-mini +${CALLS} +0 +0\\.0% `, 'm'));
      expect(summed.stdout).toContain('models without a price: none');
      const repriced = await shell(reprice, env);
      expectSuccess(repriced, reprice);
      expect(repriced.stdout).toMatch(new RegExp(`re-priced 0 of ${CALLS} rows`));
      // The calls are minutes old: a 90-day retention removes none of them, and a dry run nothing at all.
      const pruned = await shell(prune, env);
      expectSuccess(pruned, prune);
      expect(pruned.stdout).toMatch(/^\[ok\] {3}would remove 0 rows older than \S+Z from postgres /m);
      expect(await postgresRows(table)).toBe(CALLS);
      // The Parquet folder of the Quick start, if this run wrote one: today's files are left alone.
      const compacted = await shell(compact);
      expectSuccess(compacted, compact);
      expect(compacted.stdout).toMatch(
        /^(\[ok\] {3}no day before today in |nothing to compact: no dataset folder at )/m,
      );

      const shown = await shell(version);
      expectSuccess(shown, version);
      expect(shown.stdout.trim()).toBe(packed.manifest.version);
    },
  );

  /** Checks the answers of a cost block's two queries (per model, per session) for the application's calls. */
  function expectCostAnswers(
    perModel: Record<string, unknown>[],
    perSession: Record<string, unknown>[],
  ): void {
    expect(perModel).toEqual([
      { model: 'gpt-4o-mini', calls: CALLS, cost_usd: expect.closeTo(CALLS * CALL_COST, 12), unpriced: 0 },
    ]);
    expect(perSession).toHaveLength(CALLS);
    for (const session of perSession) {
      expect(session).toMatchObject({ calls: 1, cost_usd: expect.closeTo(CALL_COST, 12) });
    }
  }

  /** Numbers as numbers: drivers give sums and counts as strings or BIGINTs. */
  function numeric(rows: Record<string, unknown>[]): Record<string, unknown>[] {
    return rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [
          k,
          typeof v === 'bigint' || (typeof v === 'string' && /^-?\d+(\.\d+)?(e-?\d+)?$/.test(v))
            ? Number(v)
            : v,
        ]),
      ),
    );
  }

  it.runIf(available.prometheus)(
    'metrics: one variable and the scrape job, and a real Prometheus has every call and its tokens',
    async () => {
      const [install, command] = shellCommands(block('metrics-run').code);
      for (const name of npmInstallPackages(install as string))
        expect(existsSync(join(app, 'node_modules', name, 'package.json')), name).toBe(true);
      // The README's port is the exporter's usual one; the test takes a free one, through the variable.
      const port = await freePort();
      const scrape = block('metrics-scrape').code;
      expect(scrape).toContain(`'127.0.0.1:9464'`);
      const prometheus = await startPrometheus({ scrapeConfigs: scrape.replace(':9464', `:${port}`) });
      const running = startShell(command as string, {
        LLAMONITOR_PROMETHEUS_PORT: String(port),
        LLAMONITOR_URL: 'data-metrics',
        LLAMONITOR_SPILL_DIR: 'spill-metrics',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        APP_STAY: '1',
      });
      try {
        let calls: number | undefined;
        for (let waited = 0; calls !== CALLS; waited += 250) {
          if (waited > 45_000)
            throw new Error(`after 45 s Prometheus has ${calls} calls: ${running.output()}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
          calls = (await prometheus.query('sum(gen_ai_client_operation_duration_count)'))[0]?.value;
        }
        const input = await prometheus.query('sum(gen_ai_client_token_usage_sum{gen_ai_token_type="input"})');
        expect(input[0]?.value).toBe(CALLS * CHAT_ANSWER.usage.prompt_tokens);
        const byModel = await prometheus.query(
          'sum by (gen_ai_request_model) (gen_ai_client_operation_duration_count)',
        );
        expect(byModel.map((sample) => sample.metric.gen_ai_request_model)).toEqual(['gpt-4o-mini']);
      } finally {
        await running.stop();
        await prometheus.stop();
      }
    },
  );

  it('serve: the dashboard and the API over the calls the quick start stored', async () => {
    const [command] = shellCommands(block('serve').code);
    // The README's port is the usual one; the test takes a free one.
    expect(command).toContain('--port 8080');
    const port = await freePort();
    const running = startShell((command as string).replace('--port 8080', `--port ${port}`), {});
    try {
      for (let waited = 0; !running.output().includes('[ok]'); waited += 100) {
        if (waited > 30_000)
          throw new Error(`llamonitor serve did not start within 30 s: ${running.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>llamonitor</title>');
      const uplot = await fetch(`http://127.0.0.1:${port}/assets/uPlot.iife.min.js`);
      expect(uplot.status).toBe(200);
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const response = await fetch(`http://127.0.0.1:${port}/api/summary?from=${from}&by=model`);
      const summary = (await response.json()) as { groups: { group: string; calls: number }[] };
      expect(response.status, JSON.stringify(summary)).toBe(200);
      expect(summary.groups.map((group) => [group.group, group.calls])).toEqual([['gpt-4o-mini', CALLS]]);
    } finally {
      await running.stop();
    }
  });

  it('cost: the DuckDB queries answer the cost per model and per session of the calls the quick start stored', async () => {
    const [perModel, perSession] = statements(block('cost-parquet').code);
    expectCostAnswers(await duckdb(perModel as string), await duckdb(perSession as string));
  });

  it.runIf(available.postgres)(
    'cost: the PostgreSQL queries answer the same, on rows the application wrote',
    async () => {
      const table = newTable();
      const ran = await shell(
        'node --import llamonitor-otel/register --import ./instrumentation.mjs app.mjs',
        {
          LLAMONITOR_URL: POSTGRES_URL,
          LLAMONITOR_TABLE: table,
        },
      );
      expectSuccess(ran, 'the application writing to PostgreSQL');
      const [perModel, perSession] = statements(block('cost-postgres').code).map((sql) =>
        sql.replaceAll('FROM metric_events', `FROM ${table}`),
      );
      const answer = async (sql: string) => numeric((await pgAdmin.query(sql)).rows);
      expectCostAnswers(await answer(perModel as string), await answer(perSession as string));
    },
  );

  it.runIf(available.mysql)(
    'cost: the MySQL queries answer the same, on rows the application wrote to MariaDB',
    async () => {
      const table = uniqueName('readme');
      const connection = await mysql.createConnection({ uri: MYSQL_URL });
      try {
        const ran = await shell(
          'node --import llamonitor-otel/register --import ./instrumentation.mjs app.mjs',
          {
            LLAMONITOR_URL: MYSQL_URL,
            LLAMONITOR_TABLE: table,
          },
        );
        expectSuccess(ran, 'the application writing to MariaDB');
        const [perModel, perSession] = statements(block('cost-mysql').code).map((sql) =>
          sql.replaceAll('FROM metric_events', `FROM ${table}`),
        );
        const answer = async (sql: string) =>
          numeric((await connection.query(sql))[0] as Record<string, unknown>[]);
        expectCostAnswers(await answer(perModel as string), await answer(perSession as string));
      } finally {
        await connection.query(`DROP TABLE IF EXISTS ${table}`);
        await connection.end();
      }
    },
  );

  it('prices-file: a custom price file as shown prices the calls at its rates', async () => {
    await writeFile(join(app, 'prices.json'), block('prices-file').code);
    const folder = 'data-prices';
    const ran = await shell('node --import llamonitor-otel/register --import ./instrumentation.mjs app.mjs', {
      LLAMONITOR_URL: folder,
      LLAMONITOR_SPILL_DIR: 'spill-prices',
      LLAMONITOR_PRICES: 'prices.json',
    });
    expectSuccess(ran, 'the application with LLAMONITOR_PRICES');
    const rates = (JSON.parse(block('prices-file').code) as { models: { prices: Record<string, number> }[] })
      .models[0]!.prices;
    const { prompt_tokens: input, completion_tokens: output } = CHAT_ANSWER.usage;
    const rows = await duckdb(
      `SELECT cost_usd, json_extract_string(text_custom_metrics, '$.price_source') AS source
       FROM read_parquet('${folder}/metric_events/**/*.parquet', hive_partitioning = true)`,
    );
    expect(rows).toEqual(
      Array.from({ length: CALLS }, () => ({
        cost_usd: expect.closeTo((input * rates['input_mtok']! + output * rates['output_mtok']!) / 1e6, 12),
        source: 'custom:prices.json',
      })),
    );
  });

  it('clone: the demo runs as `npm run demo` runs it, and `npm test` is what CI runs', async () => {
    const [first, second] = shellCommands(block('clone').code);
    expect(first).toBe('npm install && npm run demo');
    expect(second).toBe('npm test');
    const scripts = (
      JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(readFileSync(join(REPO, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
    // The suite has just built the package: run what `npm run demo` runs after its build.
    const demo = (scripts.demo as string).replace(/^npm run build && /, '');
    expect(demo).toBe('node examples/demo.mjs');
    const folder = join(app, 'demo');
    await mkdir(folder, { recursive: true });
    const ran = await new Promise<Finished>((resolve) => {
      const child = spawn(process.execPath, [join(REPO, 'examples', 'demo.mjs')], {
        cwd: folder,
        stdio: 'pipe',
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
    expectSuccess(ran, 'the demo');
    expect(ran.stdout).toMatch(/calls of this run/);
  });
});
