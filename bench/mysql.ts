/**
 * Rows per second into MySQL/MariaDB, measured in one run on the same rows and
 * the same indexed table: (a) the `mariadb` client's LOAD DATA LOCAL INFILE of
 * a file, (b) MySqlSink through LOAD DATA, (c) MySqlSink through multi-row
 * INSERT IGNORE. Each round starts every method on a fresh table.
 *
 *   npx tsx bench/mysql.ts [--rows 100000] [--rounds 3] [--batch 0] [--concurrency 1]
 *
 * --batch 0 hands all rows to one write(), as the client loads one file; a
 * batch of 512 (BatchSpanProcessor's default) shows the per-export overhead.
 * LLAMONITOR_BENCH_MYSQL_URL picks the server (default mysql://root@127.0.0.1:3306/test).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { INSERT_COLUMNS, type MetricEvent } from '../src/schema/columns.js';
import { fitRow } from '../src/schema/fit-row.js';
import { createDelimitedEncoder } from '../src/sinks/delimited-text.js';
import { createTableSql } from '../src/sinks/mysql/ddl.js';
import { MySqlSink } from '../src/sinks/mysql/index.js';
import { loadDataSql } from '../src/sinks/mysql/load-data-writer.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '1' },
  },
});
const ROWS = Number(args.rows);
const ROUNDS = Number(args.rounds);
const BATCH = Number(args.batch) || ROWS;
const CONCURRENCY = Number(args.concurrency);
const URL_ = process.env.LLAMONITOR_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4', 'text-embedding-3-small'];
const OPERATIONS = [
  'chat gpt-4o-mini',
  'chat gpt-4o',
  'anthropic.messages.create',
  'embeddings',
  'execute_tool search',
];

/** Rows shaped like a day of an LLM application: sessions, traces, tokens, a few images and errors. */
function realisticRows(count: number): MetricEvent[] {
  const start = Date.parse('2026-03-14T00:00:00Z');
  const rows: MetricEvent[] = [];
  for (let i = 0; i < count; i++) {
    const trace = (i >> 2).toString(16).padStart(32, '0');
    const model = MODELS[i % MODELS.length] as string;
    const withImage = i % 20 === 0;
    const failed = i % 50 === 0;
    const millis = start + i * 37;
    rows.push(
      fitRow({
        event_id: randomUUID(),
        schema_version: '1.0.0',
        session_id: `sess-${(i % 997).toString(36)}-${(i >> 10).toString(36)}`,
        trace_id: trace,
        span_id: (i * 7919).toString(16).padStart(16, '0'),
        parent_span_id: i % 4 === 0 ? null : (((i >> 2) << 2) * 7919).toString(16).padStart(16, '0'),
        operation_name: OPERATIONS[i % OPERATIONS.length],
        operation_type: i % 5 === 4 ? 'tool_call' : i % 5 === 3 ? 'embedding' : 'llm_call',
        timestamp: `${new Date(millis).toISOString().slice(0, 19)}.${String((millis % 1000) * 1000 + (i % 1000)).padStart(6, '0')}Z`,
        duration_ms: 120 + ((i * 7.31) % 2900),
        text_char_count: 200 + (i % 1800),
        text_word_count: 35 + (i % 300),
        text_byte_size: 204 + (i % 1900),
        text_line_count: 1 + (i % 12),
        text_custom_metrics: {
          input_tokens: 300 + (i % 4000),
          output_tokens: 40 + (i % 700),
          total_tokens: 340 + (i % 4700),
          ...(i % 3 === 0 ? { cache_read_tokens: 128 } : {}),
        },
        image_count: withImage ? 1 : null,
        image_total_pixels: withImage ? 1024 * 768 : null,
        image_file_size_bytes: withImage ? 180_000 + i : null,
        image_width: withImage ? 1024 : null,
        image_height: withImage ? 768 : null,
        image_format: withImage ? 'png' : null,
        image_custom_metrics: withImage
          ? {
              images: [
                {
                  side: 'input',
                  format: 'png',
                  width: 1024,
                  height: 768,
                  bytes: 180_000 + i,
                  source: 'data_url',
                },
              ],
            }
          : null,
        error: failed ? `RateLimitError: 429 Too Many Requests for model ${model}; retry after 20s` : null,
        error_type: failed ? 'RateLimitError' : null,
        custom_attributes: {
          'gen_ai.request.model': model,
          'gen_ai.system': model.startsWith('claude') ? 'anthropic' : 'openai',
          'service.name': 'checkout-assistant',
          'user.id': `user-${i % 5000}`,
          'otel.scope.name': '@opentelemetry/instrumentation-openai',
        },
      }),
    );
  }
  return rows;
}

interface Measurement {
  readonly seconds: number;
  /** CPU seconds this process spent (the sink's encoding and driver work). */
  readonly clientCpuSeconds?: number;
  readonly eventLoopP99Ms?: number;
  readonly eventLoopMaxMs?: number;
}

/** The server's process id, from its pid file, when it runs on this machine; else undefined. */
async function serverPid(admin: mysql.Connection): Promise<string | undefined> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT @@pid_file AS pidFile');
  try {
    return readFileSync(String(rows[0]?.pidFile), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of a process, from /proc (clock ticks of 1/100 s). */
function cpuSecondsOf(pid: string | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

async function freshTable(admin: mysql.Connection, table: string): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS \`${table}\``);
  await admin.query(createTableSql(table));
}

async function count(admin: mysql.Connection, table: string): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
  return Number(rows[0]?.n);
}

function runClient(file: string, table: string): Promise<Measurement> {
  const url = new URL(URL_);
  const sql = loadDataSql(table).replace("'llamonitor-rows'", `'${file}'`);
  const argv = [
    '--local-infile=1',
    '-h',
    url.hostname,
    '-P',
    url.port || '3306',
    '-u',
    decodeURIComponent(url.username) || 'root',
    url.pathname.slice(1),
    '-e',
    sql,
  ];
  const env = { ...process.env, ...(url.password ? { MYSQL_PWD: decodeURIComponent(url.password) } : {}) };
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('mariadb', argv, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve({ seconds: (performance.now() - started) / 1000 })
        : reject(new Error(`mariadb exited with ${code}`)),
    );
  });
}

async function runSink(rows: readonly MetricEvent[], table: string, params: string): Promise<Measurement> {
  const url = params ? `${URL_}${URL_.includes('?') ? '&' : '?'}${params}` : URL_;
  const sink = new MySqlSink(url, { table, poolSize: Math.max(1, CONCURRENCY), createTable: true });
  await sink.prepare();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const batch = rows.slice(next, next + BATCH);
      next += BATCH;
      await sink.write(batch);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  delay.disable();
  await sink.close();
  return {
    seconds,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    eventLoopP99Ms: delay.percentile(99) / 1e6,
    eventLoopMaxMs: delay.max / 1e6,
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function main(): Promise<void> {
  console.log(`generating ${ROWS} rows...`);
  const rows = realisticRows(ROWS);
  const file = join(tmpdir(), `llamonitor-bench-${process.pid}.tsv`);
  const encoded = createDelimitedEncoder(INSERT_COLUMNS, 'mysql')(rows);
  writeFileSync(file, encoded);
  console.log(
    `${ROWS} rows, ${(Buffer.byteLength(encoded) / 2 ** 20).toFixed(1)} MiB as LOAD DATA text; ` +
      `sink writes of ${BATCH} rows, ${CONCURRENCY} at a time; ${ROUNDS} rounds`,
  );
  const admin = await mysql.createConnection({ uri: URL_ });
  const table = `bench_mysql_${process.pid}`;
  const methods = {
    'mariadb client LOAD DATA': () => runClient(file, table),
    'sink LOAD DATA': () => runSink(rows, table, ''),
    'sink INSERT IGNORE': () => runSink(rows, table, 'local-infile=0'),
  } as const;
  type Method = keyof typeof methods;
  const names = Object.keys(methods) as Method[];
  const rates = new Map<Method, number[]>(names.map((n) => [n, []]));
  const server = await serverPid(admin);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so that no method always runs on a warmer or cooler server.
      const order = names.map((_, i) => names[(i + round) % names.length] as Method);
      for (const name of order) {
        await freshTable(admin, table);
        const serverCpuBefore = cpuSecondsOf(server);
        const result = await methods[name]();
        const serverCpu = (cpuSecondsOf(server) ?? NaN) - (serverCpuBefore ?? NaN);
        const stored = await count(admin, table);
        if (stored !== ROWS) throw new Error(`${name} stored ${stored} of ${ROWS} rows`);
        const rate = ROWS / result.seconds;
        rates.get(name)?.push(rate);
        const loop =
          result.eventLoopP99Ms !== undefined
            ? `  event loop delay p99 ${result.eventLoopP99Ms.toFixed(1)} ms, max ${result.eventLoopMaxMs?.toFixed(1)} ms`
            : '';
        const cpu =
          (Number.isNaN(serverCpu) ? '' : `  server cpu ${serverCpu.toFixed(2)} s`) +
          (result.clientCpuSeconds !== undefined ? `, sink cpu ${result.clientCpuSeconds.toFixed(2)} s` : '');
        console.log(
          `round ${round + 1}  ${name.padEnd(26)} ${rate.toFixed(0).padStart(7)} rows/s${cpu}${loop}`,
        );
      }
    }
  } finally {
    await admin.query(`DROP TABLE IF EXISTS \`${table}\``);
    await admin.end();
    rmSync(file, { force: true });
  }
  const clientRates = rates.get('mariadb client LOAD DATA') ?? [];
  const client = median(clientRates);
  const best = (values: number[]) => Math.max(...values);
  console.log('\nrows/s: median and best of the rounds; ratio to the mariadb client: median of the');
  console.log('per-round ratios (each round runs all three back to back, so they share its noise):');
  for (const name of names) {
    const own = rates.get(name) ?? [];
    const ratios = own.map((rate, round) => rate / (clientRates[round] as number));
    console.log(
      `  ${name.padEnd(26)} median ${median(own).toFixed(0).padStart(6)}  best ${best(own).toFixed(0).padStart(6)}  ` +
        `ratio ${median(ratios).toFixed(2)}x  (median/median ${(median(own) / client).toFixed(2)}x)`,
    );
  }
}

await main();
