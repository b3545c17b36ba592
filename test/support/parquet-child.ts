/**
 * A separate process that uses the built ParquetSink, for what a test cannot
 * do to itself: crash, exit without closing, run under a file-size limit.
 *
 *   node --import tsx test/support/parquet-child.ts <command> <folder> [rows] [seed]
 *
 * Commands:
 *   write-then-crash   write the rows, print "written", then die by SIGKILL
 *   write-batches-then-crash <folder> <batches> <rows>
 *                      write that many batches one after the other, print "written", die by SIGKILL
 *   write-then-exit    write the rows, print "written", and just return (no close)
 *   encode-then-crash  write the rows, wait until the worker has begun their Parquet file, print "encoding", die by SIGKILL
 *   write-then-wait    write the rows, print "written", close when stdin ends
 *   write-three        write batches of [rows/10, rows, rows/10] rows; print the outcome of each as JSON
 *   write-together     the same three batches written at once (one append takes them together)
 *   recover            prepare() then flush(); print {"flushError": code or null}
 */
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricEvent } from '../../src/schema/columns.js';
import { importBuilt } from './built-package.js';
import { sampleRows } from './sample-rows.js';

type ParquetModule = typeof import('../../src/sinks/parquet/index.js');
const { ParquetSink } = await importBuilt<ParquetModule>('sinks/parquet/index.js');

const [command, folder, rowsArgument, seed = 'child'] = process.argv.slice(2);
const count = Number(rowsArgument ?? 0);
const sink = new ParquetSink(folder as string, {
  table: 'metric_events',
  poolSize: 1,
  createTable: true,
  fileRows: 100_000,
  fileAgeMillis: 600_000,
});

async function outcome(rows: MetricEvent[]): Promise<string> {
  try {
    await sink.write(rows);
    return 'ok';
  } catch (error) {
    return ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (error as Error).message;
  }
}

switch (command) {
  case 'write-then-crash':
    await sink.prepare();
    await sink.write(sampleRows(count, { seed }));
    process.stdout.write('written\n');
    process.kill(process.pid, 'SIGKILL');
    break;
  case 'write-batches-then-crash': {
    await sink.prepare();
    const rows = Number(seed); // the fourth argument is the rows per batch here
    for (let batch = 0; batch < count; batch++)
      await sink.write(sampleRows(rows, { seed: `batch-${batch}` }));
    process.stdout.write('written\n');
    process.kill(process.pid, 'SIGKILL');
    break;
  }
  case 'encode-then-crash': {
    await sink.prepare();
    await sink.write(sampleRows(count, { seed }));
    const wal = join(sink.target, '_wal');
    while (!readdirSync(wal).some((name) => name.startsWith('.') && name.endsWith('.tmp'))) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    process.stdout.write('encoding\n');
    process.kill(process.pid, 'SIGKILL');
    break;
  }
  case 'write-then-exit':
    await sink.prepare();
    await sink.write(sampleRows(count, { seed }));
    process.stdout.write('written\n');
    break;
  case 'write-then-wait':
    await sink.prepare();
    await sink.write(sampleRows(count, { seed }));
    process.stdout.write('written\n');
    process.stdin.resume();
    await once(process.stdin, 'end');
    await sink.close();
    break;
  case 'write-three': {
    await sink.prepare();
    const results = [
      await outcome(sampleRows(count / 10, { seed: `${seed}-first` })),
      await outcome(sampleRows(count, { seed: `${seed}-large` })),
      await outcome(sampleRows(count / 10, { seed: `${seed}-last` })),
    ];
    await sink.close();
    process.stdout.write(`${JSON.stringify(results)}\n`);
    break;
  }
  case 'write-together': {
    await sink.prepare();
    const results = await Promise.all([
      outcome(sampleRows(count / 10, { seed: `${seed}-first` })),
      outcome(sampleRows(count, { seed: `${seed}-large` })),
      outcome(sampleRows(count / 10, { seed: `${seed}-last` })),
    ]);
    await sink.close();
    process.stdout.write(`${JSON.stringify(results)}\n`);
    break;
  }
  case 'recover': {
    await sink.prepare();
    let flushError: string | null = null;
    try {
      await sink.close();
    } catch (error) {
      flushError =
        ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (error as Error).message;
    }
    process.stdout.write(`${JSON.stringify({ flushError })}\n`);
    break;
  }
  default:
    throw new Error(`unknown command ${String(command)}`);
}
