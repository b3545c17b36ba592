/**
 * `llamonitor recover`, and the doctor's lines about write-ahead log segments
 * waiting in a Parquet dataset. Both load the Parquet sink's module only when
 * the URL is a folder.
 */
import { ConfigError } from '../errors.js';
import { resolveOptions, type ResolvedOptions } from '../config/options.js';

type Env = Readonly<Record<string, string | undefined>>;
type Out = (line: string) => void;

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/**
 * Converts the segments that ended processes left in the dataset, those of
 * other hosts included when their lease is missing or stale (a pod gone from
 * shared storage); says what it stored, lost, kept aside and left alone.
 */
export async function recover(env: Env, out: Out): Promise<number> {
  let options: ResolvedOptions;
  try {
    options = resolveOptions({}, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    out(`[fail] configuration: ${error.message}`);
    return 1;
  }
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

/** The doctor's lines about the segments waiting in a Parquet dataset; none for the other sinks. */
export async function waitingSegmentLines(options: ResolvedOptions): Promise<string[]> {
  const target = options.target;
  if (target.kind !== 'parquet' || target.directory === undefined) return [];
  const { describeWaitingSegments } = await import('../sinks/parquet/index.js');
  let waiting;
  try {
    waiting = await describeWaitingSegments(target.directory, options.table);
  } catch (error) {
    return [`[warn] write-ahead log: cannot look into it: ${(error as Error).message}`];
  }
  const lines: string[] = [];
  if (waiting.segments === 0) {
    lines.push(`[ok]   write-ahead log: no segment waiting in ${waiting.wal}`);
  } else {
    const byState = (state: string) => waiting.owners.filter((owner) => owner.state === state);
    const parts = [
      ...byState('alive').map(
        (o) =>
          `${plural(o.segments, 'segment')} (${plural(o.rows, 'row')}) being written by running process ${o.pid}`,
      ),
      ...byState('dead').map(
        (o) =>
          `${plural(o.segments, 'segment')} (${plural(o.rows, 'row')}) left by ended process ${o.pid}: ` +
          'the next start, or `llamonitor recover`, stores them',
      ),
      ...byState('other-host').map(
        (o) =>
          `${plural(o.segments, 'segment')} (${plural(o.rows, 'row')}) of process ${o.pid} on host ${o.host}: ` +
          'that host recovers them, or `llamonitor recover` once it is gone',
      ),
    ];
    const settled = byState('dead').length + byState('other-host').length === 0;
    lines.push(
      `${settled ? '[ok]  ' : '[warn]'} write-ahead log: ${plural(waiting.segments, 'segment')} with ` +
        `${plural(waiting.rows, 'row')} waiting in ${waiting.wal} since ${waiting.oldest}; ${parts.join('; ')}`,
    );
  }
  if (waiting.quarantined > 0) {
    lines.push(
      `[warn] write-ahead log: ${plural(waiting.quarantined, 'damaged segment')} kept in ${waiting.wal}/quarantine ` +
        '(their intact rows were stored; delete them once looked at)',
    );
  }
  return lines;
}
