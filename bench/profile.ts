/**
 * Where a row's time goes on the application's thread: spans of the
 * benchmark's mix ended through a MetricEventsSpanProcessor into one store, a
 * V8 CPU profile of that part only (node:inspector, 200 µs sampling), and the
 * self time per row grouped by where the code lives.
 *
 *   npm run build && npx tsx bench/profile.ts postgres|mysql|parquet [rows]
 *
 * The profile is written to $TMPDIR/llamonitor-profile-<store>.cpuprofile
 * (open it in Chrome's DevTools). The profiler itself costs a few µs a row.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { spansForRows, timedThroughProcessor, WARM_UP_ROWS } from './support/export-spans.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly url: string; readonly functionName: string };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const PARTS: readonly (readonly [string, (url: string, name: string) => boolean])[] = [
  ['garbage collection', (_url, name) => name === '(garbage collector)'],
  ['idle', (_url, name) => name === '(idle)'],
  ['the profiler', (url, name) => name === 'dispatch' || url === 'node:inspector'],
  ['mapping (toMetricEvent)', (url) => url.includes('/dist/mapping/') || url.includes('/dist/pricing/')],
  ['validation (fitRow) and schema', (url) => url.includes('/dist/schema/')],
  ['COPY / LOAD DATA text encoding', (url) => url.includes('/dist/sinks/delimited-text')],
  ['Parquet sink (log frames)', (url) => url.includes('/dist/sinks/parquet/')],
  ['sink: other', (url) => url.includes('/dist/sinks/')],
  ['exporter and processor bookkeeping', (url) => url.includes('/dist/export/')],
  ['database driver', (url) => /node_modules\/(pg[a-z-]*|mysql2|sqlstring|denque|iconv-lite)\//.test(url)],
  ['OpenTelemetry SDK', (url) => url.includes('@opentelemetry')],
  ['Node streams, sockets, timers', (url) => url.startsWith('node:')],
  ['native and builtins', (url) => url === ''],
];

function partOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  return PARTS.find(([, matches]) => matches(url, functionName))?.[0] ?? 'other';
}

const store = process.argv[2] ?? 'postgres';
const rowCount = Number(process.argv[3] ?? 50_000);
const url =
  store === 'postgres'
    ? (process.env.LLAMONITOR_BENCH_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test')
    : store === 'mysql'
      ? (process.env.LLAMONITOR_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test')
      : join(tmpdir(), `llamonitor-profile-${process.pid}`);
const table = `llamonitor_profile_${process.pid}`;
const { spans, rows } = spansForRows(rowCount);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
const timed = await timedThroughProcessor(
  { url, table, spillDir: join(tmpdir(), `llamonitor-profile-spill-${process.pid}`) },
  spans,
  spansForRows(WARM_UP_ROWS).spans,
  () => session.post('Profiler.start'),
);
const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
const file = join(tmpdir(), `llamonitor-profile-${store}.cpuprofile`);
writeFileSync(file, JSON.stringify(profile));
if (store === 'postgres') {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP TABLE IF EXISTS "${table}"`);
  await client.end();
} else if (store === 'mysql') {
  const connection = await mysql.createConnection({ uri: url });
  await connection.query(`DROP TABLE IF EXISTS \`${table}\``);
  await connection.end();
}

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const micros = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const part = partOf(nodes.get(id)!);
  micros.set(part, (micros.get(part) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const busy = [...micros].filter(([part]) => part !== 'idle').reduce((sum, [, us]) => sum + us, 0);
console.log(
  `${store}: ${rows.length} rows, ${((rows.length / timed.millis) * 1000).toFixed(0)} rows/s, CPU ${(timed.cpuMicros / rows.length).toFixed(1)} µs/row (all threads); profile: ${file}\n`,
);
console.log('| part | µs/row | share of the busy time |\n| --- | --- | --- |');
for (const [part, us] of [...micros].sort((a, b) => b[1] - a[1])) {
  console.log(
    `| ${part} | ${(us / rows.length).toFixed(2)} | ${part === 'idle' ? '' : `${((100 * us) / busy).toFixed(0)}%`} |`,
  );
}
console.log(`| main thread busy, in all | ${(busy / rows.length).toFixed(2)} | 100% |`);
process.exit(0);
