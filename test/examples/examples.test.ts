/**
 * The examples as a smoke test: each runs as `npm run example:<name>` would
 * (node on examples/<name>.mjs, against the built package), in a folder of
 * its own for the Parquet files, and must print the rows it stored.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledRates } from '../conformance/expected.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtModulePath } from '../support/built-package.js';
import { REPO, startNode } from '../support/child-process.js';
import { freePort } from '../support/prometheus.js';
import { mysqlAvailable, postgresAvailable } from '../support/databases.js';

const { scripts } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

interface Expected {
  /** How many rows the example stores. */
  readonly rows: number;
  /** Texts its output must hold: the session it sets, a measured image, an error... */
  readonly shows: readonly string[];
  readonly needs?: 'postgres' | 'mysql';
}

const EXAMPLES: Readonly<Record<string, Expected>> = {
  openllmetry: { rows: 3, shows: ["'support-chat-0042'", '64x48 png'] },
  openinference: {
    rows: 5,
    shows: ["'support-chat-0043'", '160x120 png', "'embedding'", 'span_not_ended: the span was never ended'],
  },
  'contrib-openai': { rows: 4, shows: ["'support-chat-0044'", 'RateLimitError: 429'] },
  'ai-sdk-6': { rows: 12, shows: ["'support-chat-0045'", "'ai.toolCall'", 'AI_APICallError'] },
  'ai-sdk-7': { rows: 17, shows: ["'support-chat-0046'", "'execute_tool get_weather'", '64x48 png'] },
  nodesdk: { rows: 2, shows: ["'support-chat-0047'"] },
  register: { rows: 2, shows: ["'support-chat-0048'", 'app: What is the capital of France?'] },
  parquet: { rows: 6, shows: ["'support-chat-0049'", '800x600 png', '158'] },
  postgres: { rows: 6, shows: ["'support-chat-0049'", 'PostgreSQL table', '158'], needs: 'postgres' },
  mysql: { rows: 6, shows: ["'support-chat-0049'", 'MySQL/MariaDB table', '158'], needs: 'mysql' },
};

const available = { postgres: await postgresAvailable(), mysql: await mysqlAvailable() };

let folder: string;
beforeAll(() => {
  builtModulePath('index.js'); // the examples import the built package: refuse a stale one
  folder = mkdtempSync(join(tmpdir(), 'llamonitor-examples-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function runExample(name: string, cwd = folder): Promise<Run> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('LLAMONITOR_')),
  );
  const child = spawn(process.execPath, [join(REPO, 'examples', `${name}.mjs`)], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

/** gpt-4o-mini's rates in the bundled table (genai-prices' own data), per million tokens. */
const RATES = (() => {
  const rates = bundledRates('gpt-4o-mini');
  return { input: rates['input_mtok'], cache_read: rates['cache_read_mtok'], output: rates['output_mtok'] };
})();

describe('examples', () => {
  it('has an example:<name> script for every examples/<name>.mjs, and the reverse', () => {
    const files = readdirSync(join(REPO, 'examples'))
      .filter((file) => file.endsWith('.mjs') && !['demo.mjs', 'run-all.mjs'].includes(file))
      .map((file) => file.slice(0, -'.mjs'.length));
    const named = Object.keys(scripts)
      .filter((script) => script.startsWith('example:'))
      .map((script) => script.slice('example:'.length));
    expect(named.sort()).toEqual(files.sort());
    expect(Object.keys(EXAMPLES).sort()).toEqual(files.sort());
  });

  it('builds the package before each example and once before all of them', () => {
    for (const [script, command] of Object.entries(scripts).filter(([s]) => s.startsWith('example'))) {
      expect(command, script).toMatch(/^npm run build && node examples\/[\w-]+\.mjs$/);
    }
    expect(existsSync(join(REPO, 'examples', 'run-all.mjs'))).toBe(true);
  });

  it("npm run demo (the README's first command) stores a real client's calls as Parquet, shows them and how to query them", async () => {
    expect(scripts.demo).toBe('npm run build && node examples/demo.mjs');
    const cwd = mkdtempSync(join(folder, 'demo-'));
    const { code, output } = await runExample('demo', cwd);
    expect(code, output).toBe(0);
    // The official client, instrumented by OpenInference: its span name in each of the three rows.
    const rows = output.split('\n').filter((line) => line.includes("'OpenAI Chat Completions'"));
    expect(rows, output).toHaveLength(3);
    // Numbers as numbers (console.table quotes strings): tokens, cost, characters and the image's size.
    const cost = (input: number, output: number) =>
      String(
        Math.round(((input - 8) * RATES.input! + 8 * RATES.cache_read! + output * RATES.output!) * 100) / 1e8,
      );
    const noCache = (input: number, output: number) =>
      String(Math.round((input * RATES.input! + output * RATES.output!) * 100) / 1e8);
    expect(rows[0]).toMatch(
      new RegExp(`'support-chat-\\d{6}' +│ 23 +│ 14 +│ ${cost(23, 14)} +│ 53 +│ 11 +│ 0 +│`),
    );
    expect(rows[2]).toMatch(
      new RegExp(`'[0-9a-f]{32}' +│ 112 +│ 6 +│ ${noCache(112, 6)} +│ 22 +│ 4 +│ 1 +│ 640 +│ 480 +│`),
    );
    expect(output).toContain(
      'A session_id that looks like a\ntrace id means no session was set for that call.',
    );
    // The query it ends with runs, as printed, on what it wrote.
    const oneLiner = /^ {2}duckdb -c "(.+)"$/m.exec(output)?.[1];
    expect(oneLiner, output).toBeDefined();
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    await duck.run(`SET file_search_path = '${cwd}'`);
    const sessions = (await duck.runAndReadAll(oneLiner!)).getRowObjectsJson();
    const session = /'(support-chat-\d{6})'/.exec(rows[0]!)?.[1];
    expect(sessions).toContainEqual({
      session_id: session,
      model: 'gpt-4o-mini',
      calls: '2',
      input_tokens: '46',
      cost_usd: expect.closeTo(2 * Number(cost(23, 14)), 12),
    });
    // The dashboard command it ends with serves what it wrote (the built CLI for npx, a free port for 8080).
    const serve = /^ {2}npx llamonitor (serve --url \S+)/m.exec(output)?.[1];
    expect(serve, output).toBe('serve --url ./llamonitor-data');
    const port = await freePort();
    const running = startNode(
      [join(REPO, 'dist/cli/main.js'), ...serve!.split(' '), '--port', String(port)],
      {},
      cwd,
    );
    try {
      for (let waited = 0; !running.stdout().includes('[ok]'); waited += 100) {
        if (waited > 30_000) throw new Error(`llamonitor serve did not start: ${running.stdout()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const summary = (await (await fetch(`http://127.0.0.1:${port}/api/summary?by=model`)).json()) as {
        groups: { group: string; calls: number }[];
      };
      expect(summary.groups.map((group) => [group.group, group.calls])).toEqual([['gpt-4o-mini', 3]]);
    } finally {
      running.child.kill('SIGTERM');
      await running.finished;
    }
  });

  for (const [name, expected] of Object.entries(EXAMPLES)) {
    const skip = expected.needs !== undefined && !available[expected.needs];
    it.skipIf(skip)(
      `example:${name} runs against the fake server and prints the rows it stored`,
      async () => {
        const { code, output } = await runExample(name);
        expect(code, output).toBe(0);
        expect(output).toMatch(new RegExp(`^stored ${expected.rows} rows in `, 'm'));
        for (const text of expected.shows) expect(output, text).toContain(text);
      },
    );
  }
});
