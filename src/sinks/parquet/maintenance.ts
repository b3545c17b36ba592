/**
 * The maintenance of a Parquet dataset, and where its readers find its files
 * and DuckDB (`@duckdb/node-api`, an optional peer dependency, loaded only by
 * the read queries of call-reader.ts). Re-pricing rewrites each file whose rows
 * change: to a temporary name in its folder, fsynced, renamed over the old
 * file, the folder fsynced, so a reader sees the old file or the new one,
 * never half of one and never a row twice. Only the visible, finished files
 * of the partitions in range are touched, never the write-ahead log.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { COLUMNS } from '../../schema/columns.js';
import { epochMicrosToIsoMicros, isoMicrosToEpochMicros } from '../../schema/timestamps.js';
import { fsyncFolderSync } from '../durable-fs.js';
import { LEASE_HEARTBEAT_MILLIS, LEASE_STALE_MILLIS, pidRuns, thisProcess } from '../process-owner.js';
import {
  MaintenanceBusyError,
  newTally,
  storedCostRow,
  type PruneReport,
  type PruneRequest,
  tallied,
  type RepriceReport,
  type RepriceRequest,
} from '../maintenance.js';
import { TemporaryParquetFile } from './parquet-file.js';

type DuckDb = typeof import('@duckdb/node-api');

export async function loadDuckDb(): Promise<DuckDb> {
  try {
    return await import('@duckdb/node-api');
  } catch (error) {
    throw new Error(
      `llamonitor stats and serve read Parquet files with DuckDB, which is not installed: npm install @duckdb/node-api (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/** `date=YYYY-MM-DD` folders of the dataset, with their day. */
export function partitions(dataset: string): { folder: string; day: string }[] {
  let names: string[];
  try {
    names = readdirSync(dataset);
  } catch {
    return [];
  }
  return names
    .filter((name) => /^date=\d{4}-\d{2}-\d{2}$/.test(name))
    .map((name) => ({ folder: join(dataset, name), day: name.slice(5) }))
    .sort((a, b) => a.day.localeCompare(b.day));
}

/** The finished Parquet files of the partitions whose day falls in [from, to). */
export function filesInRange(dataset: string, from: Date, to: Date): string[] {
  const first = from.toISOString().slice(0, 10);
  const last = new Date(to.getTime() - 1).toISOString().slice(0, 10);
  return partitions(dataset)
    .filter(({ day }) => day >= first && day <= last)
    .flatMap(({ folder }) =>
      readdirSync(folder)
        .filter((name) => name.endsWith('.parquet') && !name.startsWith('.'))
        .sort()
        .map((name) => join(folder, name)),
    );
}

/**
 * The maintenance lease of a dataset folder: `_maintenance.lease`, created
 * with O_EXCL and holding `<host>~<pid>~<random token>`, its mtime refreshed
 * while the run lasts. Node has no advisory file lock, and kill -9 leaves the
 * file: a lease older than LEASE_STALE_MILLIS is taken over, and so at once is
 * one whose process, on this host, no longer runs.
 */
export class MaintenanceLease {
  private readonly token: string;
  private heartbeat: NodeJS.Timeout | undefined;

  private constructor(private readonly path: string) {
    const owner = thisProcess();
    this.token = `${owner.host}~${owner.pid}~${randomBytes(8).toString('hex')}`;
  }

  static take(dataset: string, fileMode: number): MaintenanceLease {
    const lease = new MaintenanceLease(join(dataset, '_maintenance.lease'));
    if (!lease.create(fileMode)) {
      const gone = lease.goneHolder();
      if (gone === undefined) throw new MaintenanceBusyError(dataset);
      try {
        // Only the lease judged gone: one another run took over meanwhile holds another token.
        if (readFileSync(lease.path, 'utf8') === gone) unlinkSync(lease.path);
      } catch {
        // another run took it over first: the create below tells
      }
      if (!lease.create(fileMode)) throw new MaintenanceBusyError(dataset);
    }
    lease.heartbeat = setInterval(() => {
      try {
        utimesSync(lease.path, new Date(), new Date());
      } catch {
        // the folder went away: the run fails on its own
      }
    }, LEASE_HEARTBEAT_MILLIS);
    lease.heartbeat.unref();
    return lease;
  }

  /**
   * The content of the lease in place when it belongs to a run that ended without releasing it
   * (stale, or its process gone from this host); undefined while its run may go on.
   */
  private goneHolder(): string | undefined {
    let age: number;
    let holder: string;
    try {
      age = Date.now() - statSync(this.path).mtimeMs;
      holder = readFileSync(this.path, 'utf8');
    } catch {
      return ''; // released between the two calls
    }
    if (age > LEASE_STALE_MILLIS) return holder;
    const [host, pid] = holder.split('~');
    const dead = host === thisProcess().host && /^\d+$/.test(pid ?? '') && !pidRuns(Number(pid));
    return dead ? holder : undefined;
  }

  private create(fileMode: number): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'wx', fileMode);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      writeSync(fd, this.token);
    } finally {
      closeSync(fd);
    }
    return true;
  }

  release(): void {
    clearInterval(this.heartbeat);
    try {
      if (readFileSync(this.path, 'utf8') === this.token) unlinkSync(this.path);
    } catch {
      // gone already
    }
  }
}

const JSON_COLUMNS = new Set(COLUMNS.filter((c) => c.kind === 'json').map((c) => c.name as string));

export async function readRows(path: string): Promise<Record<string, unknown>[]> {
  return (await parquetReadObjects({
    file: await asyncBufferFromFile(path),
    utf8: true,
    parsers: { timestampFromMicroseconds: (micros: bigint) => epochMicrosToIsoMicros(micros) },
  })) as Record<string, unknown>[];
}

async function hasCostColumns(path: string): Promise<boolean> {
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path));
  return metadata.schema.some((element) => element.name === 'cost_usd');
}

/** Re-prices the rows of the files in range, rewriting each file whose rows change. */
export async function reprice(
  dataset: string,
  request: RepriceRequest,
  fileMode: number,
): Promise<RepriceReport> {
  const lease = MaintenanceLease.take(dataset, fileMode);
  try {
    const tally = newTally();
    const skipped: string[] = [];
    const from = request.from.getTime();
    const to = request.to.getTime();
    for (const path of filesInRange(dataset, request.from, request.to)) {
      if (!(await hasCostColumns(path))) {
        skipped.push(path);
        continue;
      }
      const rows = await readRows(path);
      let changed = 0;
      for (const row of rows) {
        const at = Date.parse(String(row.timestamp));
        if (!(at >= from && at < to)) continue;
        if (request.model !== undefined && row.model !== request.model) continue;
        const update = tallied(tally, request, storedCostRow(row));
        if (update === undefined) continue;
        row.cost_usd = update.cost_usd;
        row.text_custom_metrics =
          update.text_custom_metrics === null ? null : JSON.stringify(update.text_custom_metrics);
        changed++;
      }
      if (changed > 0 && !request.dryRun) rewrite(path, rows);
    }
    return { ...tally, skipped };
  } finally {
    lease.release();
  }
}

/** `rows` as the file at `path`, replaced whole: written beside it, made durable, renamed over it. */
function rewrite(path: string, rows: readonly Record<string, unknown>[]): void {
  const mode = statSync(path).mode & 0o777;
  const folder = join(path, '..');
  const temp = join(folder, `.reprice-${randomBytes(6).toString('hex')}.tmp`);
  const file = new TemporaryParquetFile(temp, mode);
  try {
    file.append(COLUMNS.map((spec) => rows.map((row) => columnValue(spec.name, spec.kind, row[spec.name]))));
    file.complete();
    renameSync(temp, path);
  } catch (error) {
    file.discard();
    throw error;
  }
  fsyncFolderSync(folder);
}

/** A value read by hyparquet in the form the writer takes (parquet-file.ts: as the write-ahead log gives them). */
export function columnValue(name: string, kind: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (kind === 'timestamp') return isoMicrosToEpochMicros(String(value));
  if (kind === 'int64') return BigInt(value as number | bigint);
  if (JSON_COLUMNS.has(name) && typeof value !== 'string') return JSON.stringify(value);
  return value;
}

/**
 * Where a partition folder goes to be removed: beside the dataset folder, not
 * in it, since DuckDB's `**` enters hidden folders and would read it (and fail
 * on its name as a Hive partition). A run that died leaves it for the next.
 */
function asidePrefix(dataset: string): string {
  return `.${basename(dataset)}.pruned-`;
}

/**
 * Removes the `date=` folders whose whole day is older than `request.before`,
 * under the dataset's maintenance lease: each folder is first renamed aside,
 * out of the dataset folder (one atomic step: a reader lists the day whole or
 * not at all; a file it has open stays readable), both folders fsynced, then
 * deleted. Today's
 * folder is never touched, nor the write-ahead log. A folder holds one UTC
 * day, so the rows of the day `before` falls in stay until the next day's run.
 */
export async function prune(dataset: string, request: PruneRequest, fileMode: number): Promise<PruneReport> {
  const lease = MaintenanceLease.take(dataset, fileMode);
  try {
    if (!request.dryRun) removeSetAside(dataset);
    const limit = request.before.toISOString().slice(0, 10);
    const today = new Date().toISOString().slice(0, 10);
    let rows = 0;
    const removed: string[] = [];
    for (const { folder, day } of partitions(dataset)) {
      if (day >= limit || day >= today) break;
      if (request.signal?.aborted) return { rows, partitions: removed, stoppedEarly: true };
      rows += await rowsIn(folder);
      if (!request.dryRun) {
        const aside = join(
          dirname(dataset),
          `${asidePrefix(dataset)}date=${day}-${randomBytes(4).toString('hex')}`,
        );
        renameSync(folder, aside);
        fsyncFolderSync(dataset);
        fsyncFolderSync(dirname(dataset));
        rmSync(aside, { recursive: true, force: true });
      }
      removed.push(`date=${day}`);
    }
    return { rows, partitions: removed, stoppedEarly: false };
  } finally {
    lease.release();
  }
}

/** Folders an earlier prune set aside and did not finish deleting. */
function removeSetAside(dataset: string): void {
  const prefix = asidePrefix(dataset);
  for (const name of readdirSync(dirname(dataset)))
    if (name.startsWith(prefix)) rmSync(join(dirname(dataset), name), { recursive: true, force: true });
}

/** Rows of the finished Parquet files of a partition folder, from their footers; a file that cannot be read counts none. */
async function rowsIn(folder: string): Promise<number> {
  let rows = 0;
  for (const name of readdirSync(folder)) {
    if (!name.endsWith('.parquet') || name.startsWith('.')) continue;
    try {
      rows += Number((await parquetMetadataAsync(await asyncBufferFromFile(join(folder, name)))).num_rows);
    } catch {
      // damaged or going away: it is removed with its folder all the same
    }
  }
  return rows;
}
