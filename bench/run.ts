/**
 * `npm run bench`: every speed and memory target of the package against its
 * reference, measured in the same run (a shared machine's timings move, so a
 * figure is a ratio to something measured beside it).
 *
 *   npm run bench                        the table (Markdown), progress on stderr
 *   npm run bench -- --json              only a JSON array of rows on stdout
 *   npm run bench -- --quick             fewer rows, rounds and seconds: under two minutes
 *   npm run bench -- --only postgres_vs_copy,event_loop_p99_ms_mysql   (row or group names)
 *   npm run bench -- --rows 50000 --rounds 7 --detail
 *
 * Each group of rows runs in a child process of its own (bench/rows/*.ts), on
 * the built package (dist/). Exit code: 0 when every row passes, 1 when one
 * misses its target, 2 when a group failed to run.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { notes, table, type BenchRow } from './report.js';
import { runChild, type BenchSettings } from './support/child.js';

interface Group {
  readonly name: string;
  readonly file: string;
  readonly rows: readonly string[];
  readonly nodeArgs?: readonly string[];
  readonly args?: readonly string[];
}

const GROUPS: readonly Group[] = [
  { name: 'mapping', file: 'mapping.ts', rows: ['mapping_vs_otlp', 'mapping_worst_span_ms'] },
  {
    name: 'postgres',
    file: 'postgres.ts',
    rows: [
      'postgres_vs_copy',
      'postgres_exporter_by_hand_vs_copy',
      'postgres_sink_alone_vs_copy',
      'cpu_us_per_row_postgres',
      'app_thread_us_per_span_postgres',
    ],
  },
  {
    name: 'mysql',
    file: 'mysql.ts',
    rows: [
      'mysql_vs_load_data',
      'mysql_exporter_by_hand_vs_load_data',
      'mysql_sink_alone_vs_load_data',
      'cpu_us_per_row_mysql',
      'app_thread_us_per_span_mysql',
    ],
  },
  {
    name: 'parquet',
    file: 'parquet.ts',
    rows: [
      'parquet_vs_hyparquet',
      'parquet_vs_parquetjs_lite',
      'parquet_exporter_by_hand_vs_hyparquet',
      'parquet_sink_alone_vs_hyparquet',
      'parquet_sink_alone_vs_parquetjs_lite',
      'cpu_us_per_row_parquet',
      'app_thread_us_per_span_parquet',
    ],
  },
  ...(['parquet', 'postgres', 'mysql'] as const).map((sink) => ({
    name: `event_loop_${sink}`,
    file: 'event-loop.ts',
    args: [sink],
    rows: [`event_loop_p99_ms_${sink}`, `event_loop_max_ms_${sink}`],
  })),
  { name: 'metrics', file: 'metrics.ts', rows: ['metrics_vs_mapping'] },
  {
    name: 'event_loop_parquet_metrics',
    file: 'event-loop.ts',
    args: ['parquet', 'metrics'],
    rows: ['event_loop_p99_ms_parquet_metrics', 'event_loop_max_ms_parquet_metrics'],
  },
  {
    name: 'estimate',
    file: 'estimate.ts',
    rows: ['estimate_cpu_us_per_streamed_span', 'estimate_main_thread_us_per_streamed_span'],
  },
  { name: 'outage', file: 'outage.ts', nodeArgs: ['--expose-gc'], rows: ['outage_rss_growth_mb'] },
  ...(['postgres', 'mysql'] as const).map((store) => ({
    name: `many_writers_${store}`,
    file: 'many-writers.ts',
    args: [store],
    rows: [`many_writers_${store}`],
  })),
  ...(['postgres', 'parquet', 'mysql'] as const).map((store) => ({
    name: `serve_${store}`,
    file: 'serve.ts',
    args: [store],
    rows: [
      `serve_summary_1m_rows_ms_${store}`,
      `serve_timeseries_1m_rows_ms_${store}`,
      `serve_live_delay_ms_${store}`,
    ],
  })),
  {
    name: 'migrate',
    file: 'migrate.ts',
    rows: ['migrate_add_columns_ms_postgres', 'migrate_add_columns_ms_mysql'],
  },
];

const { values: options } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    detail: { type: 'boolean', default: false },
    only: { type: 'string' },
    rows: { type: 'string' },
    rounds: { type: 'string' },
    batch: { type: 'string', default: '512' },
    concurrency: { type: 'string', default: '4' },
    'loop-seconds': { type: 'string' },
    'outage-seconds': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (options.help) {
  process.stdout.write(`npm run bench -- [options]
  --json                 print only a JSON array of rows on stdout
  --quick                20,000 rows, 3 rounds, 4 s of flow, 8 s of outage (under two minutes)
  --only a,b             only these rows or groups (${GROUPS.map((g) => g.name).join(', ')})
  --rows N               rows per throughput measurement (default 100000)
  --rounds N             rounds of each throughput row (default 5)
  --batch N              spans per export in the throughput rows (default 512, BatchSpanProcessor's)
  --concurrency N        exports in flight in the throughput rows (default 4, the pool's size)
  --loop-seconds N       seconds of steady flow in the event-loop rows (default 20)
  --outage-seconds N     seconds of the outage (default 30)
  --detail               also the sinks alone (rows already mapped) against the same references
`);
  process.exit(0);
}

const positive = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`--${name} must be a positive number, not "${text}"\n`);
    process.exit(2);
  }
  return value;
};

const quick = options.quick;
const settings: BenchSettings = {
  rows: Math.round(positive('rows', options.rows, quick ? 20_000 : 100_000)),
  rounds: Math.round(positive('rounds', options.rounds, quick ? 3 : 5)),
  batch: Math.round(positive('batch', options.batch, 512)),
  concurrency: Math.round(positive('concurrency', options.concurrency, 4)),
  loopSeconds: positive('loop-seconds', options['loop-seconds'], quick ? 4 : 20),
  loopReferenceSeconds: quick ? 2 : 5,
  spansPerSecond: 5_000,
  outageSeconds: positive('outage-seconds', options['outage-seconds'], quick ? 8 : 30),
  outageCapMiB: 16,
  detail: options.detail,
  postgresUrl:
    process.env.LLAMONITOR_BENCH_POSTGRES_URL ??
    process.env.LLAMONITOR_TEST_POSTGRES_URL ??
    'postgres://postgres@127.0.0.1:5432/test',
  mysqlUrl:
    process.env.LLAMONITOR_BENCH_MYSQL_URL ??
    process.env.LLAMONITOR_TEST_MYSQL_URL ??
    'mysql://root@127.0.0.1:3306/test',
};

const wanted = options.only
  ?.split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const known = new Set(GROUPS.flatMap((g) => [g.name, ...g.rows]));
for (const name of wanted ?? []) {
  if (!known.has(name)) {
    process.stderr.write(`--only: no row or group "${name}"; known: ${[...known].join(', ')}\n`);
    process.exit(2);
  }
}
const selected = GROUPS.filter(
  (g) => !wanted || wanted.includes(g.name) || g.rows.some((r) => wanted.includes(r)),
);

const started = performance.now();
const rows: BenchRow[] = [];
let failed = false;
process.stderr.write(
  `llamonitor-otel bench: ${settings.rows} rows x ${settings.rounds} rounds, ${settings.loopSeconds} s of flow, ` +
    `${settings.outageSeconds} s of outage; groups: ${selected.map((g) => g.name).join(', ')}\n`,
);
for (const group of selected) {
  const groupStart = performance.now();
  process.stderr.write(`${group.name}\n`);
  try {
    const groupRows = await runChild(group.file, settings, group);
    // With --only naming rows, keep just those (a group's other rows were measured anyway).
    rows.push(...groupRows.filter((r) => !wanted || wanted.includes(group.name) || wanted.includes(r.name)));
  } catch (error) {
    failed = true;
    process.stderr.write(`${group.name} failed: ${(error as Error).message}\n`);
  }
  process.stderr.write(`${group.name}: ${((performance.now() - groupStart) / 1000).toFixed(0)} s\n`);
}
const seconds = (performance.now() - started) / 1000;

if (options.json) {
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
} else {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    `\n${table(rows)}\n\n${notes(rows)}\n\n` +
      `${availableParallelism()} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}; ` +
      `${settings.rows} rows, ${settings.rounds} rounds; run took ${Math.round(seconds)} s\n`,
  );
}
process.exitCode = failed ? 2 : rows.every((r) => r.pass !== false) ? 0 : 1;
