/**
 * `llamonitor compact`: merges a day's small Parquet files (each short-lived
 * process leaves its own) into files of up to `fileRows` rows, dropping rows
 * whose event_id another file of the day holds already (a span two writers
 * stored), under the dataset's maintenance lease. No row is ever missing for a
 * reader, and none is doubled once a run has finished:
 *
 * 1. the merged files are written under hidden temporary names in the day's
 *    folder and fsynced (a crash here leaves only temporary files, which the
 *    next run removes: the inputs are untouched);
 * 2. a journal naming the temporary files, their final names and the inputs
 *    is written and made durable: the commit point;
 * 3. the temporary files are renamed to their final names, the folder fsynced;
 * 4. the inputs are deleted, the folder fsynced; the journal is deleted.
 *
 * A run that finds a journal finishes steps 3 and 4 first. Between steps 3
 * and 4 a reader that lists the folder sees the merged files and the inputs:
 * each of those rows twice, for that moment. POSIX has no rename that swaps
 * many files at once, so the docs give the query that is immune (one row per
 * event_id). A file whose write-ahead segment is still in `_wal` (a writer
 * that crashed between the file's rename and the segment's deletion) is left
 * alone: the segment's recovery would write the same file again.
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { COLUMNS } from '../../schema/columns.js';
import type { CompactReport, CompactRequest, DayCompaction } from '../maintenance.js';
import { fsyncFolderSync } from '../durable-fs.js';
import { compactTime, parseSegmentFileName, walFolder } from './dataset-layout.js';
import { faultPoint } from './fault-points.js';
import { MaintenanceLease, columnValue, partitions, readRows } from './maintenance.js';
import { TemporaryParquetFile } from './parquet-file.js';

const JOURNAL = '.compact.journal';
const JOURNAL_TEMP = '.compact.journal.tmp';
const TEMP_PREFIX = '.compact-';

interface Journal {
  readonly outputs: readonly { readonly temp: string; readonly final: string }[];
  readonly inputs: readonly string[];
}

export async function compact(dataset: string, request: CompactRequest): Promise<CompactReport> {
  const lease = MaintenanceLease.take(dataset, request.fileMode);
  try {
    const today = new Date().toISOString().slice(0, 10);
    const days = partitions(dataset).filter(({ day }) =>
      request.date === undefined ? day < today : day === request.date,
    );
    const report: DayCompaction[] = [];
    const finished: string[] = [];
    const limbo = segmentTimes(dataset);
    for (const { folder, day } of days) {
      if (request.signal?.aborted) break;
      if (finishInterrupted(folder)) finished.push(day);
      report.push(await compactDay(folder, day, limbo, request));
    }
    return { days: report, finished };
  } finally {
    lease.release();
  }
}

/** The creation times of the segments still in `_wal`: a Parquet file named with one may be written again. */
function segmentTimes(dataset: string): Set<string> {
  let names: string[];
  try {
    names = readdirSync(walFolder(dataset));
  } catch {
    return new Set();
  }
  const times = new Set<string>();
  for (const name of names) {
    const segment = parseSegmentFileName(name);
    if (segment) times.add(segment.time);
  }
  return times;
}

/**
 * Finishes a run that died after its commit point (renames, then deletions),
 * or removes what one left before it (temporary files); true when there was
 * a journal to finish.
 */
function finishInterrupted(folder: string): boolean {
  const journalPath = join(folder, JOURNAL);
  if (!existsSync(journalPath)) {
    for (const name of readdirSync(folder))
      if (name.startsWith(TEMP_PREFIX) || name === JOURNAL_TEMP) rmSync(join(folder, name), { force: true });
    return false;
  }
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as Journal;
  applyJournal(folder, journal);
  return true;
}

/** Steps 3 and 4: every output in place, every input gone, the journal last. Safe to repeat. */
function applyJournal(folder: string, journal: Journal): void {
  for (const { temp, final } of journal.outputs) {
    faultPoint('compact-before-rename');
    if (existsSync(join(folder, temp))) renameSync(join(folder, temp), join(folder, final));
  }
  fsyncFolderSync(folder);
  for (const input of journal.inputs) {
    faultPoint('compact-before-delete');
    rmSync(join(folder, input), { force: true });
  }
  fsyncFolderSync(folder);
  unlinkSync(join(folder, JOURNAL));
  fsyncFolderSync(folder);
}

async function compactDay(
  folder: string,
  day: string,
  limbo: ReadonlySet<string>,
  request: CompactRequest,
): Promise<DayCompaction> {
  const inputs: string[] = [];
  let inLimbo = 0;
  for (const name of readdirSync(folder).sort()) {
    if (!name.endsWith('.parquet') || name.startsWith('.')) continue;
    const time = /^part-(\d{8}T\d{9}Z)-/.exec(name)?.[1];
    if (time !== undefined && limbo.has(time)) {
      inLimbo++;
      continue;
    }
    const rows = Number((await parquetMetadataAsync(await asyncBufferFromFile(join(folder, name)))).num_rows);
    if (rows < request.fileRows) inputs.push(name);
  }
  const none = { date: day, inputs: 0, outputs: 0, rows: 0, duplicates: 0, inLimbo };
  if (inputs.length < 2) return none;

  // Step 1: the merged files, under temporary names.
  const seen = new Set<string>();
  const outputs: { temp: string; final: string }[] = [];
  let pending: Record<string, unknown>[] = [];
  let rows = 0;
  let duplicates = 0;
  const writeOut = (batch: readonly Record<string, unknown>[]) => {
    const id = randomUUID();
    const temp = `${TEMP_PREFIX}${id}.tmp`;
    const file = new TemporaryParquetFile(join(folder, temp), request.fileMode);
    try {
      file.append(
        COLUMNS.map((spec) => batch.map((row) => columnValue(spec.name, spec.kind, row[spec.name]))),
      );
      file.complete();
    } catch (error) {
      file.discard();
      throw error;
    }
    outputs.push({ temp, final: `part-${compactTime(Date.now())}-${id}.parquet` });
    rows += batch.length;
  };
  try {
    for (const input of inputs) {
      for (const row of await readRows(join(folder, input))) {
        const id = String(row.event_id);
        if (seen.has(id)) {
          duplicates++;
          continue;
        }
        seen.add(id);
        pending.push(row);
        if (pending.length === request.fileRows) {
          writeOut(pending);
          pending = [];
        }
      }
    }
    if (pending.length > 0) writeOut(pending);
  } catch (error) {
    for (const { temp } of outputs) rmSync(join(folder, temp), { force: true });
    throw error;
  }

  // Step 2: the commit point.
  faultPoint('compact-before-journal');
  const journal: Journal = { outputs, inputs };
  writeJournal(folder, journal, request.fileMode);

  // Steps 3 and 4.
  applyJournal(folder, journal);
  return { date: day, inputs: inputs.length, outputs: outputs.length, rows, duplicates, inLimbo };
}

/** The journal, durably and whole: written beside, fsynced, renamed into place, the folder fsynced. */
function writeJournal(folder: string, journal: Journal, fileMode: number): void {
  const temp = join(folder, JOURNAL_TEMP);
  const fd = openSync(temp, 'w', fileMode);
  try {
    writeSync(fd, JSON.stringify(journal));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(folder, JOURNAL));
  fsyncFolderSync(folder);
}
