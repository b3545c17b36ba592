/**
 * `llamonitor compact [--date YYYY-MM-DD]`: merges the small Parquet files of
 * a day (every day before today without --date) into files of
 * parquetFileRows, dropping rows stored twice (sinks/parquet/compaction.ts).
 * Parquet only: a database table has no files to merge.
 */
import { existsSync } from 'node:fs';
import { redactSecrets } from '../secrets.js';
import { fileModesOf } from '../sinks/file-modes.js';
import { compact as compactDataset } from '../sinks/parquet/compaction.js';
import { datasetFolder } from '../sinks/parquet/dataset-layout.js';
import { EXIT_USAGE, loadOptions, type Env, type Out } from './commands.js';

export async function compact(env: Env, out: Out, date: string | undefined): Promise<number> {
  const options = loadOptions(env, out, { createTable: false });
  if (!options) return 1;
  if (options.target.kind !== 'parquet' || options.target.directory === undefined) {
    out(
      `llamonitor compact merges the files of a Parquet dataset; ${options.target.kind} keeps its rows in one table, with nothing to merge`,
    );
    return EXIT_USAGE;
  }
  if (date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    out(`llamonitor compact: --date ${date} is not a day (YYYY-MM-DD)`);
    return EXIT_USAGE;
  }
  const dataset = datasetFolder(options.target.directory, options.table);
  if (!existsSync(dataset)) {
    out(`nothing to compact: no dataset folder at ${dataset}`);
    return 0;
  }
  try {
    const report = await compactDataset(dataset, {
      date,
      fileRows: options.parquetFileRows,
      fileMode: fileModesOf(options.fileMode).file,
    });
    for (const day of report.finished)
      out(`[ok]   finished the compaction of ${day} that an earlier run left half done`);
    for (const day of report.days) {
      if (day.inputs === 0) {
        out(
          `[ok]   ${day.date}: nothing to merge${day.inLimbo > 0 ? ` (${day.inLimbo} files left to recovery)` : ''}`,
        );
        continue;
      }
      out(
        `[ok]   ${day.date}: merged ${day.inputs} files into ${day.outputs}, ${day.rows} rows` +
          (day.duplicates > 0 ? `, ${day.duplicates} rows stored twice kept once` : '') +
          (day.inLimbo > 0 ? `; ${day.inLimbo} files left to recovery (their segment is still in _wal)` : ''),
      );
    }
    if (report.days.length === 0) out(`[ok]   no day ${date ?? 'before today'} in ${dataset}`);
    return 0;
  } catch (error) {
    out(`[fail] compact: ${redactSecrets((error as Error).message, options.target.secrets ?? [])}`);
    return 1;
  }
}
