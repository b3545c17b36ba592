/**
 * What waits on disk to reach the store: one `doctor` line per kind, read
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

/** A report's line; undefined when it has nothing to say (no dead letters, say). */
export type WaitingReport = (options: ResolvedOptions) => Promise<WaitingLine | undefined>;

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

/** Spilled batches that no replay has sent yet. */
export async function spillWaiting(options: ResolvedOptions): Promise<WaitingLine> {
  const folder = resolve(options.spillDir);
  const backlog = await spillBacklog(folder);
  if (!backlog)
    return { status: 'ok', name: 'spill', detail: `nothing waiting (no spill folder at ${folder})` };
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
    return {
      status: notes.length > 0 ? 'warn' : 'ok',
      name: 'spill',
      detail: `nothing waiting in ${folder}${extra}`,
    };
  }
  return {
    status: 'warn',
    name: 'spill',
    detail:
      `${plural(backlog.rows, 'row')} in ${plural(backlog.files, 'file')} waiting in ${folder}` +
      (backlog.oldest ? ` since ${backlog.oldest}` : '') +
      `${extra}; \`llamonitor replay\` sends them now, a running exporter also does in the background`,
  };
}

/** Rows the store refused, kept in the dead-letter folder: never retried, so a person must look. */
export async function deadLettersKept(options: ResolvedOptions): Promise<WaitingLine | undefined> {
  const store = new DeadLetterStore(resolve(options.spillDir), options.fileMode);
  const { files, rows, firstError } = await store.summary();
  if (files === 0) return undefined;
  return {
    status: 'warn',
    name: 'dead letters',
    detail:
      `${plural(rows, 'row')} the store refused, kept in ${plural(files, 'file')} in ${store.directory} ` +
      `(the first error: ${firstError ?? 'unknown'}); they are never retried: fix the cause, then write them back by hand`,
  };
}

/**
 * Every kind of waiting data, in the order doctor prints them. The Parquet
 * sink's write-ahead segments not yet in a closed file belong here too.
 */
export const WAITING_REPORTS: readonly WaitingReport[] = [spillWaiting, deadLettersKept];
