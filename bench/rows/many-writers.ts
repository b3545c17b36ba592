/**
 * many_writers_postgres / many_writers_mysql: 8 processes, each ending spans
 * through a MetricEventsSpanProcessor with its defaults, writing into one
 * table at once, against 1 process writing the same number of rows alone
 * (bench/support/writer-child.ts). The figure is the total rate (rows stored ÷
 * time from the start signal to the last writer's forceFlush); the ratio is
 * 8 writers ÷ 1 writer within a round. Many writers should approach the
 * server's own limit, not fall below what one writer reaches. The note gives
 * the p99 of a batch's write (the sink's write, call to durable end) for each,
 * and the writers' CPU per row. Rows: twice the throughput rows' (--rows).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { throughputRow, type BenchRow } from '../report.js';
import { progress, runGroup } from '../support/child.js';
import { median } from '../support/stats.js';

const CHILD = fileURLToPath(new URL('../support/writer-child.ts', import.meta.url));
const WRITERS = 8;

interface WriterResult {
  readonly millis: number;
  readonly writeMillis: readonly number[];
  readonly cpuMicros: number;
}

const p99 = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? 0;
};

/** `writers` processes of `rows` rows each, started together; the wall time of all and each one's figures. */
async function run(
  url: string,
  table: string,
  writers: number,
  rows: number,
): Promise<{ millis: number; results: WriterResult[] }> {
  const spill = mkdtempSync(join(tmpdir(), 'llamonitor-bench-writers-'));
  try {
    const children = Array.from({ length: writers }, (_, i) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CHILD, url, table, String(rows), join(spill, String(i))],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      return { child, out: () => out, exited: once(child, 'exit') };
    });
    // Every writer made its spans and connected: the timed part is the writing alone.
    for (const { out, exited } of children) {
      while (!out().includes('ready')) {
        if (await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(r, 20, false))]))
          throw new Error(`a writer ended before it was ready: ${out()}`);
      }
    }
    for (const { child } of children) child.stdin.end('go\n');
    const results: WriterResult[] = [];
    for (const { out, exited } of children) {
      const [code] = (await exited) as [number | null];
      if (code !== 0) throw new Error(`a writer failed (exit ${code}): ${out()}`);
      results.push(
        JSON.parse(
          out()
            .split('\n')
            .find((line) => line.startsWith('{'))!,
        ) as WriterResult,
      );
    }
    // Each writer times itself from the start signal to its forceFlush: the slowest is the run's.
    return { millis: Math.max(...results.map((r) => r.millis)), results };
  } finally {
    rmSync(spill, { recursive: true, force: true });
  }
}

interface Store {
  readonly name: 'postgres' | 'mysql';
  readonly url: string;
  readonly count: (table: string) => Promise<number>;
  readonly drop: (table: string) => Promise<void>;
}

async function measure(store: Store, totalRows: number, rounds: number): Promise<BenchRow> {
  const alone: number[] = [];
  const together: number[] = [];
  const p99Alone: number[] = [];
  const p99Together: number[] = [];
  const cpuAlone: number[] = [];
  const cpuTogether: number[] = [];
  const perWriter = Math.ceil(totalRows / WRITERS);
  for (let round = 0; round < rounds; round++) {
    // A fresh table for each side, which goes first alternating.
    for (const writers of round % 2 === 0 ? [1, WRITERS] : [WRITERS, 1]) {
      const table = `bench_writers_${process.pid}_${round}_${writers}`;
      const rows = writers === 1 ? perWriter * WRITERS : perWriter;
      progress(
        `${store.name}: round ${round + 1}, ${writers} writer${writers === 1 ? '' : 's'} of ${rows} rows`,
      );
      try {
        const { millis, results } = await run(store.url, table, writers, rows);
        const stored = await store.count(table);
        if (stored !== rows * writers)
          throw new Error(
            `${stored} rows stored of ${rows * writers}: the figure would not be of stored rows`,
          );
        const rate = (stored / millis) * 1000;
        (writers === 1 ? alone : together).push(rate);
        (writers === 1 ? p99Alone : p99Together).push(median(results.map((r) => p99(r.writeMillis))));
        // The writers' CPU per row stored, all their threads together.
        (writers === 1 ? cpuAlone : cpuTogether).push(
          results.reduce((sum, r) => sum + r.cpuMicros, 0) / stored,
        );
      } finally {
        await store.drop(table);
      }
    }
  }
  return throughputRow(
    `many_writers_${store.name}`,
    together,
    alone,
    'ratio >= 0.9',
    `${WRITERS} processes of ${perWriter.toLocaleString('en')} rows each into one table at once vs 1 process of ` +
      `${(perWriter * WRITERS).toLocaleString('en')} rows, each through a MetricEventsSpanProcessor with its defaults; ` +
      `p99 of a batch's write: ${median(p99Together).toFixed(0)} ms with ${WRITERS} writers (median over writers), ` +
      `${median(p99Alone).toFixed(0)} ms alone; the writers' CPU per row (all processes, all threads): ` +
      `${median(cpuTogether).toFixed(1)} µs with ${WRITERS}, ${median(cpuAlone).toFixed(1)} µs alone`,
  );
}

runGroup(async (settings, args) => {
  const which = args[0] ?? 'postgres';
  // Twice the throughput rows' count: each writer process warms up its own JIT and tokenizer (about
  // 0.4 s of CPU), which 12,500 rows a writer do not amortise; 25,000 do.
  const rows = 2 * settings.rows;
  const rounds = Math.max(1, Math.min(settings.rounds, 3));
  if (which === 'postgres') {
    const client = new pg.Client(settings.postgresUrl);
    await client.connect();
    try {
      return [
        await measure(
          {
            name: 'postgres',
            url: settings.postgresUrl,
            count: async (table) =>
              Number((await client.query(`SELECT count(*) AS n FROM "${table}"`)).rows[0].n),
            drop: async (table) => void (await client.query(`DROP TABLE IF EXISTS "${table}"`)),
          },
          rows,
          rounds,
        ),
      ];
    } finally {
      await client.end();
    }
  }
  const connection = await mysql.createConnection(settings.mysqlUrl);
  try {
    return [
      await measure(
        {
          name: 'mysql',
          url: settings.mysqlUrl,
          count: async (table) => {
            const [found] = await connection.query<mysql.RowDataPacket[]>(
              `SELECT COUNT(*) AS n FROM \`${table}\``,
            );
            return Number(found[0]!.n);
          },
          drop: async (table) => void (await connection.query(`DROP TABLE IF EXISTS \`${table}\``)),
        },
        rows,
        rounds,
      ),
    ];
  } finally {
    await connection.end();
  }
});
