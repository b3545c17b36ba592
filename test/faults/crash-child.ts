/**
 * A process for the crash tests: it writes rows and is then killed (SIGKILL)
 * by the test at a chosen moment, as a power cut or an OOM kill would.
 *
 *   node --import tsx test/faults/crash-child.ts parquet <folder> <rows> <fileRows>
 *     writes the rows, prints "written", then flushes: the conversion writes
 *     Parquet files while the test watches for the first temporary one.
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
  const sink = new ParquetSink(folder as string, {
    table: 'metric_events',
    poolSize: 1,
    createTable: true,
    fileRows: Number(fileRowsArgument),
    fileAgeMillis: 600_000,
  });
  await sink.prepare();
  await sink.write(rows);
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
