/**
 * Each group of rows runs in a process of its own, so that one group's heap,
 * worker threads and connections do not weigh on the next, and the outage row's
 * memory is the exporter's own. The parent passes the settings as JSON in argv;
 * the child prints progress on stderr and sends its rows back over IPC.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from '../report.js';

export interface BenchSettings {
  /** Rows stored by each throughput row (spans are made until this many map to a row). */
  readonly rows: number;
  /** Rounds of each throughput row: the reference and the package in a rotating order each round. */
  readonly rounds: number;
  /** Spans per export and exports in flight in the throughput rows. */
  readonly batch: number;
  readonly concurrency: number;
  /** Seconds of steady flow in the event-loop rows, and of the no-exporter reference before it. */
  readonly loopSeconds: number;
  readonly loopReferenceSeconds: number;
  /** Spans per second in the event-loop and outage rows. */
  readonly spansPerSecond: number;
  /** Seconds of the outage row, and its maxInflightBytes in MiB. */
  readonly outageSeconds: number;
  readonly outageCapMiB: number;
  /** Also report the sink alone (rows already mapped), beside the end-to-end rows. */
  readonly detail: boolean;
  readonly postgresUrl: string;
  readonly mysqlUrl: string;
}

/** Progress for people, on stderr: stdout carries only the result when --json is given. */
export function progress(message: string): void {
  process.stderr.write(`  ${message}\n`);
}

/** The settings a group's child was started with. */
export function settingsFromArgv(): BenchSettings {
  const json = process.argv[2];
  if (!json)
    throw new Error('a bench group needs its settings as JSON in argv[2] (bench/run.ts passes them)');
  return JSON.parse(json) as BenchSettings;
}

/** Runs a group in this (child) process and hands its rows to the parent. */
export function runGroup(
  measure: (settings: BenchSettings, args: readonly string[]) => Promise<BenchRow[]>,
): void {
  measure(settingsFromArgv(), process.argv.slice(3)).then(
    (rows) => {
      if (process.send) process.send({ rows }, () => process.exit(0));
      else {
        console.log(JSON.stringify(rows, null, 2));
        process.exit(0);
      }
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}

const TSX = import.meta.resolve('tsx');

/** Starts `bench/rows/<file>` in a child process and resolves with the rows it sends back. */
export function runChild(
  file: string,
  settings: BenchSettings,
  options: { readonly nodeArgs?: readonly string[]; readonly args?: readonly string[] } = {},
): Promise<BenchRow[]> {
  const script = fileURLToPath(new URL(`../rows/${file}`, import.meta.url));
  const argv = [
    ...(options.nodeArgs ?? []),
    '--import',
    TSX,
    script,
    JSON.stringify(settings),
    ...(options.args ?? []),
  ];
  return new Promise((resolve, reject) => {
    // The child's stdout goes to our stderr: with --json, our stdout holds the result alone.
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 2, 2, 'ipc'] });
    let rows: BenchRow[] | undefined;
    child.on('message', (message: { rows?: BenchRow[] }) => {
      rows = message.rows;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0 && rows) resolve(rows);
      else
        reject(
          new Error(`bench/rows/${file} ${args(options.args)}failed (${signal ?? `exit code ${code}`})`),
        );
    });
  });
}

const args = (list: readonly string[] | undefined) => (list?.length ? `${list.join(' ')} ` : '');
