/**
 * A process for the crash tests: it writes rows and is then killed (SIGKILL)
 * by the test at a chosen moment, as a power cut or an OOM kill would.
 *
 *   node --import tsx test/faults/crash-child.ts parquet <folder> <rows> <fileRows>
 *     writes the rows in batches of fileRows (each fills a segment, whose
 *     conversion starts at once, one after the other), prints "written", then
 *     flushes: the test watches the files appear one by one.
 *   node --import tsx test/faults/crash-child.ts spill <folder> <rows>
 *     prints "spilling", then spills the rows again and again until killed.
 */
import { importBuilt } from '../support/built-package.js';
import { sampleRows } from '../support/sample-rows.js';

type ParquetModule = typeof import('../../src/sinks/parquet/index.js');
type SpillModule = typeof import('../../src/spill/spill-store.js');

const [mode, folder, rowsArgument, fileRowsArgument] = process.argv.slice(2);
const rows = sampleRows(Number(rowsArgument), { seed: 'crash' });

if (mode === 'parquet') {
  const { ParquetSink } = await importBuilt<ParquetModule>('sinks/parquet/index.js');
  const fileRows = Number(fileRowsArgument);
  const sink = new ParquetSink(folder as string, {
    table: 'metric_events',
    poolSize: 1,
    createTable: true,
    fileRows,
    fileAgeMillis: 600_000,
  });
  await sink.prepare();
  for (let start = 0; start < rows.length; start += fileRows)
    await sink.write(rows.slice(start, start + fileRows));
  process.stdout.write('written\n');
  await sink.flush();
  process.stdout.write('flushed\n');
} else if (mode === 'spill') {
  const { SpillStore } = await importBuilt<SpillModule>('spill/spill-store.js');
  const store = new SpillStore(folder as string, Number.MAX_SAFE_INTEGER);
  process.stdout.write('spilling\n');
  for (;;) await store.store(rows, { table: 'metric_events' }, 'crash test');
} else {
  throw new Error(`unknown mode ${String(mode)}`);
}
