/**
 * `llamonitor prune --older-than 30d [--dry-run]`: removes the rows older than
 * a duration or a date from the configured sink, once, under the maintenance
 * lease the exporter's `retentionDays` runs take too, and says what it removed
 * (or would). Without --older-than, LLAMONITOR_RETENTION_DAYS says how old.
 */
import { retentionCutoff } from '../export/maintenance-runs.js';
import { EXIT_USAGE, loadOptions, type Env, type Out } from './commands.js';
import { parseTime, withSink } from './cost-commands.js';

export async function prune(
  env: Env,
  out: Out,
  olderThan: string | undefined,
  dryRun: boolean,
): Promise<number> {
  const options = loadOptions(env, out, { createTable: false });
  if (!options) return 1;
  const now = Date.now();
  let before: Date | undefined;
  if (olderThan !== undefined) {
    before = parseTime(olderThan, now);
    if (before === undefined) {
      out(
        `llamonitor prune: --older-than ${olderThan} is not a duration (30d, 12h, 2w) or an ISO 8601 day or time`,
      );
      return EXIT_USAGE;
    }
  } else if (options.retentionDays > 0) {
    before = retentionCutoff(options.retentionDays, now);
  } else {
    out('llamonitor prune needs --older-than (30d, 2w, 2026-01-01) or LLAMONITOR_RETENTION_DAYS');
    return EXIT_USAGE;
  }
  if (before.getTime() > now) {
    out(
      `llamonitor prune: --older-than ${olderThan} is in the future (${before.toISOString()}): it would remove every row`,
    );
    return EXIT_USAGE;
  }
  const cutoff = before;
  const report = await withSink(options, out, 'prune', async (sink, target) => ({
    target,
    ...(await sink.prune({ before: cutoff, dryRun })),
  }));
  if (report === undefined) return 1;
  out(
    `[ok]   ${dryRun ? 'would remove' : 'removed'} ${report.rows} rows older than ${cutoff.toISOString()} ` +
      `from ${report.target}${dryRun ? ' (dry run: nothing removed)' : ''}`,
  );
  if (report.partitions.length > 0)
    out(
      `       ${options.target.kind === 'parquet' ? 'day folders' : 'partitions'} ${dryRun ? 'to remove' : 'removed'}: ` +
        report.partitions.join(', '),
    );
  if (options.target.kind === 'parquet')
    out('       (whole days only: the rows of the day the limit falls in go once that day is older)');
  if (report.stoppedEarly)
    out(
      '       stopped early: another maintenance run took the lease; it goes on from where this one stopped',
    );
  return 0;
}
