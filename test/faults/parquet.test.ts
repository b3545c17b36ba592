/**
 * Faults of the Parquet sink and of the spill, on the file system: a folder
 * that cannot be written (a path that runs through a regular file: the tests
 * run as root, so permissions would not stop them), and a process killed
 * between writing a file and renaming it into place: the Parquet writer is
 * paused there by a named fault-injection point, the spill writer frozen
 * (SIGSTOP) while its temporary file exists, so that each kill lands in its
 * window every time, however loaded the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { Replayer } from '../../src/export/replayer.js';
import { SpillStore } from '../../src/spill/spill-store.js';
import { importBuilt } from '../support/built-package.js';
import { captureDiag } from '../support/diag-capture.js';
import { queryDataset, visibleParquetFiles } from '../support/parquet-readers.js';
import { finishedSpans } from '../support/spans.js';
import { runCli } from '../support/child-process.js';

type PackageModule = typeof import('../../src/index.js');
type ParquetModule = typeof import('../../src/sinks/parquet/index.js');
// The Parquet sink converts in a worker thread, which runs compiled JavaScript: use the built package.
const { MetricEventsSpanExporter } = await importBuilt<PackageModule>('index.js');
const { ParquetSink } = await importBuilt<ParquetModule>('sinks/parquet/index.js');

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const folders: string[] = [];

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-faults-files-'));
  folders.push(folder);
  return folder;
}

/** A path under a regular file: nothing can be created there, whoever runs the test. */
function unwritable(): string {
  const file = join(tempFolder(), 'a-regular-file');
  writeFileSync(file, 'not a folder');
  return join(file, 'below');
}

afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function exportOnce(exporter: { export: (spans: ReadableSpan[], done: (r: ExportResult) => void) => void }) {
  const spans = finishedSpans(25);
  return {
    spans,
    result: new Promise<ExportResult>((resolve) => exporter.export(spans, resolve)),
  };
}

async function countRows(dataset: string): Promise<number> {
  const [row] = await queryDataset(
    dataset,
    'SELECT count(DISTINCT event_id)::INTEGER AS d, count(*)::INTEGER AS n FROM {dataset}',
  );
  expect(row?.d).toBe(row?.n);
  return Number(row?.n);
}

describe('a Parquet dataset folder that cannot be written', () => {
  it('spills the rows elsewhere with a warning naming the folder, and llamonitor replay restores them', async () => {
    const logs = captureDiag();
    const spillDir = join(tempFolder(), 'spill');
    const dataset = unwritable();
    try {
      const exporter = new MetricEventsSpanExporter({ url: dataset, spillDir, exportTimeoutMillis: 500 });
      const { spans, result } = exportOnce(exporter);
      expect((await result).code).toBe(ExportResultCode.SUCCESS);
      await exporter.shutdown();
      // The first line of each cause reaches the console and, at debug level, diag: read every level.
      const warnings = logs.logs.map((l) => l.message);
      expect(warnings.join('\n')).toMatch(
        /cannot create the Parquet dataset folder .*a-regular-file\/below.*a part of that path is a file/,
      );
      expect(warnings.join('\n')).toMatch(new RegExp(`25 rows spilled to ${spillDir}/spill-`));
      const target = tempFolder();
      const run = await runCli(['replay', '--url', target, '--spill-dir', spillDir]);
      expect(run.stdout).toMatch(/replayed 25 rows from 1 files/);
      expect(await countRows(join(target, 'metric_events'))).toBe(spans.length);
    } finally {
      logs.stop();
    }
  });

  it('and a spill folder that cannot be written either: the export fails, naming both folders and why', async () => {
    const exporter = new MetricEventsSpanExporter({
      url: unwritable(),
      spillDir: unwritable(),
      exportTimeoutMillis: 500,
    });
    const { result } = exportOnce(exporter);
    const outcome = await result;
    await exporter.shutdown();
    expect(outcome.code).toBe(ExportResultCode.FAILED);
    expect(outcome.error?.message).toMatch(
      /cannot create the Parquet dataset folder .*a-regular-file\/below/,
    );
    expect(outcome.error?.message).toMatch(/spilling them to .*a-regular-file\/below failed too: .*ENOTDIR/);
  });
});

/** Starts the crash child; resolves once it printed `line`, fails if it ends first or `timeoutMillis` pass. */
async function startChild(
  args: string[],
  line: string,
  env: Record<string, string> = {},
  timeoutMillis = 60_000,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the child did not print ${line} within ${timeoutMillis} ms: ${output}`)),
      timeoutMillis,
    );
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      if (!output.includes(line)) return;
      clearTimeout(timer);
      resolve();
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the child ended before printing ${line}: ${output}`));
    });
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Whether the process is stopped (state T in /proc): all its threads are frozen, the folder still. */
function isStopped(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

/**
 * Freezes `child` (SIGSTOP) and looks into `folder`: when a name matches
 * `pattern`, kills the frozen child, so that it dies with that file half
 * written; else lets it run a little and looks again, up to `attempts` times.
 * Returns the name.
 */
async function killWhileHolding(
  child: ChildProcess,
  folder: string,
  pattern: RegExp,
  attempts = 400,
): Promise<string> {
  const pid = child.pid as number;
  for (let attempt = 0; attempt < attempts; attempt++) {
    child.kill('SIGSTOP');
    for (let look = 0; !isStopped(pid); look++) {
      if (look > 2000) throw new Error(`process ${pid} did not stop on SIGSTOP`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const held = readdirSync(folder).find((name) => pattern.test(name));
    if (held) {
      await kill(child);
      return held;
    }
    child.kill('SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(
    `${folder} never held a name matching ${pattern} in ${attempts} looks at the stopped child`,
  );
}

describe('a process killed between writing a file and renaming it', () => {
  it('leaves readers of the Parquet dataset no partial file, and the next start stores every row once', async () => {
    const folder = tempFolder();
    const dataset = join(folder, 'metric_events');
    // The conversion pauses before its second rename: the first segment's file is in place, the
    // second one's complete under its temporary name. The child is killed there.
    const child = await startChild(
      ['parquet', folder, '60000', '20000'],
      'paused at parquet-before-rename 2',
      {
        LLAMONITOR_TEST_PAUSE_AT: 'parquet-before-rename:2',
      },
    );
    await kill(child);
    // The premise: a Parquet file was written and not yet renamed when the process died.
    expect(
      readdirSync(join(dataset, '_wal')).filter((name) => /^\.\d{4}-\d{2}-\d{2}-part-.*\.tmp$/.test(name)),
    ).toHaveLength(1);
    // A reader sees the whole first file only (DuckDB reads it to the end), not the one being written.
    expect(visibleParquetFiles(dataset)).toHaveLength(1);
    expect(await countRows(dataset)).toBe(20_000);
    const sink = new ParquetSink(folder, {
      table: 'metric_events',
      poolSize: 1,
      createTable: true,
      fileRows: 20_000,
      fileAgeMillis: 600_000,
    });
    await sink.prepare();
    await sink.close();
    expect(readdirSync(join(dataset, '_wal'))).toEqual([]);
    expect(await countRows(dataset)).toBe(60_000);
  });

  it('leaves the replay of the spill folder no partial file: it replays the whole ones and removes the rest', async () => {
    const folder = tempFolder();
    const child = await startChild(['spill', folder, '20000'], 'spilling');
    await killWhileHolding(child, folder, /^\.tmp-/);
    // The premise: a spill file was being written when the process died.
    expect(readdirSync(folder).filter((name) => name.startsWith('.tmp-'))).toHaveLength(1);
    const store = new SpillStore(folder, Number.MAX_SAFE_INTEGER);
    const whole = (await store.list()).length;
    const written: number[] = [];
    const report = await new Replayer(store, {
      destination: undefined,
      write: async (rows) => void written.push(rows.length),
      checkHealth: async () => {},
      timeoutMillis: 10_000,
    }).replayOnce();
    expect(report).toMatchObject({ files: whole, rows: whole * 20_000, setAside: 0 });
    expect(written.every((n) => n === 20_000)).toBe(true);
    expect(readdirSync(folder)).toEqual([]);
  });
});
