/**
 * `llamonitor recover`: loads the Parquet sink's module only when the URL is a
 * folder. (The doctor's lines about waiting segments are in waiting.ts.)
 */
import { loadOptions, type Env, type Out } from './commands.js';

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/**
 * Converts the segments that ended processes left in the dataset, those of
 * other hosts included when their lease is missing or stale (a pod gone from
 * shared storage); says what it stored, lost, kept aside and left alone.
 */
export async function recover(env: Env, out: Out): Promise<number> {
  const options = loadOptions(env, out);
  if (!options) return 1;
  const target = options.target;
  if (target.kind !== 'parquet' || target.directory === undefined) {
    out(
      `[ok]   nothing to recover: only the Parquet sink keeps a write-ahead log (this URL is ${target.kind})`,
    );
    return 0;
  }
  const { recoverDataset } = await import('../sinks/parquet/index.js');
  let report;
  try {
    report = await recoverDataset(target.directory, {
      table: options.table,
      poolSize: options.poolSize,
      createTable: true,
      fileRows: options.parquetFileRows,
      fileAgeMillis: options.parquetFileAgeMillis,
      fileMode: options.fileMode,
      warnings: options.warnings,
    });
  } catch (error) {
    out(`[fail] recover ${target.directory}: ${(error as Error).message}`);
    return 1;
  }
  const where = `${target.directory}/${options.table}`;
  out(
    `[ok]   recovered ${plural(report.segments, 'segment')} in ${where}: ` +
      `${plural(report.rows, 'row')} stored in ${plural(report.files, 'Parquet file')}`,
  );
  if (report.lostRows > 0 || report.quarantined.length > 0) {
    out(
      `[warn] ${plural(report.lostRows, 'row')} were damaged on disk and lost; ` +
        `the damaged segments were kept in ${report.quarantined.join(', ')}`,
    );
  }
  if (report.leftToLiveProcesses + report.leftToOtherHosts > 0) {
    out(
      `[ok]   left alone: ${plural(report.leftToLiveProcesses, 'segment')} of running processes of this host, ` +
        `${plural(report.leftToOtherHosts, 'segment')} of other hosts whose lease is fresh (they still write)`,
    );
  }
  for (const failure of report.failures) out(`[fail] not converted, kept for the next try: ${failure}`);
  return report.failures.length > 0 ? 1 : 0;
}
