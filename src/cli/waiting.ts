/**
 * What waits on disk to reach the store: the `doctor` lines of each kind, read
 * without taking, moving or removing anything (a running exporter may be
 * working on those files at the same moment).
 */
import { resolve } from 'node:path';
import type { ResolvedOptions } from '../config/options.js';
import { DeadLetterStore } from '../spill/dead-letter.js';
import { spillBacklog } from '../spill/spill-store.js';

export interface WaitingLine {
  /** `ok`: nothing waits; `warn`: rows wait (not a failed check: doctor's exit code stays as the checks set it). */
  readonly status: 'ok' | 'warn';
  readonly name: string;
  readonly detail: string;
}

/** A report's lines; none when it has nothing to say (no dead letters, a sink with no write-ahead log). */
export type WaitingReport = (options: ResolvedOptions) => Promise<readonly WaitingLine[]>;

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

/** The segments waiting in a Parquet dataset's write-ahead log; nothing for the other sinks. */
export async function segmentsWaiting(options: ResolvedOptions): Promise<WaitingLine[]> {
  const target = options.target;
  if (target.kind !== 'parquet' || target.directory === undefined) return [];
  const name = 'write-ahead log';
  const { describeWaitingSegments } = await import('../sinks/parquet/index.js');
  let waiting;
  try {
    waiting = await describeWaitingSegments(target.directory, options.table);
  } catch (error) {
    return [{ status: 'warn', name, detail: `cannot look into it: ${(error as Error).message}` }];
  }
  const lines: WaitingLine[] = [];
  if (waiting.segments === 0) {
    lines.push({ status: 'ok', name, detail: `no segment waiting in ${waiting.wal}` });
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
    lines.push({
      status: settled ? 'ok' : 'warn',
      name,
      detail:
        `${plural(waiting.segments, 'segment')} with ${plural(waiting.rows, 'row')} waiting in ${waiting.wal} ` +
        `since ${waiting.oldest}; ${parts.join('; ')}`,
    });
  }
  if (waiting.quarantined > 0) {
    lines.push({
      status: 'warn',
      name,
      detail:
        `${plural(waiting.quarantined, 'damaged segment')} kept in ${waiting.wal}/quarantine ` +
        '(their intact rows were stored; delete them once looked at)',
    });
  }
  return lines;
}

/** Spilled batches that no replay has sent yet. */
export async function spillWaiting(options: ResolvedOptions): Promise<WaitingLine[]> {
  const folder = resolve(options.spillDir);
  const backlog = await spillBacklog(folder);
  if (!backlog)
    return [{ status: 'ok', name: 'spill', detail: `nothing waiting (no spill folder at ${folder})` }];
  const notes: string[] = [];
  if (backlog.unreadable > 0) {
    notes.push(
      `${plural(backlog.unreadable, 'file')} with an unreadable header, which the replay will set aside`,
    );
  }
  if (backlog.setAside > 0) {
    notes.push(
      `${plural(backlog.setAside, 'file')} set aside in ${folder}/set-aside for a person to look at`,
    );
  }
  const extra = notes.length > 0 ? `; ${notes.join('; ')}` : '';
  if (backlog.files === 0) {
    return [
      {
        status: notes.length > 0 ? 'warn' : 'ok',
        name: 'spill',
        detail: `nothing waiting in ${folder}${extra}`,
      },
    ];
  }
  return [
    {
      status: 'warn',
      name: 'spill',
      detail:
        `${plural(backlog.rows, 'row')} in ${plural(backlog.files, 'file')} waiting in ${folder}` +
        (backlog.oldest ? ` since ${backlog.oldest}` : '') +
        `${extra}; \`llamonitor replay\` sends them now, a running exporter also does in the background`,
    },
  ];
}

/** Rows the store refused, kept in the dead-letter folder: never retried, so a person must look. */
export async function deadLettersKept(options: ResolvedOptions): Promise<WaitingLine[]> {
  const store = new DeadLetterStore(resolve(options.spillDir), options.fileMode);
  const { files, rows, firstError } = await store.summary();
  if (files === 0) return [];
  return [
    {
      status: 'warn',
      name: 'dead letters',
      detail:
        `${plural(rows, 'row')} the store refused, kept in ${plural(files, 'file')} in ${store.directory} ` +
        `(the first error: ${firstError ?? 'unknown'}); they are never retried: fix the cause, then write them back by hand`,
    },
  ];
}

/** Every kind of waiting data, in the order doctor prints them. */
export const WAITING_REPORTS: readonly WaitingReport[] = [segmentsWaiting, spillWaiting, deadLettersKept];
