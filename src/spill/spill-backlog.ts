/**
 * What a spill folder holds for replay, counted from its files' header lines
 * only: `llamonitor doctor` reads it while an exporter may be replaying.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { headerSummary } from './spill-format.js';
import { readHeaderLine } from './header-line.js';
import { parseOwnName } from './spill-names.js';

export const SET_ASIDE_FOLDER = 'set-aside';
/** Next to each file set aside, why: `set-aside/<file>.reason.txt`. */
export const REASON_SUFFIX = '.reason.txt';

/** The error says the file or folder is not there. */
export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** A spill file's header line, read alone; undefined when it cannot be read. */
export async function readHeaderSummary(path: string): Promise<ReturnType<typeof headerSummary>> {
  const line = await readHeaderLine(path);
  return line === undefined ? undefined : headerSummary(line);
}

/** What a spill folder holds for replay, as its files' headers count it. */
export interface SpillBacklog {
  /** Files waiting for a replay, those a replay holds right now included. */
  readonly files: number;
  readonly rows: number;
  /** When the oldest of them was written (ISO-8601), undefined when there is none. */
  readonly oldest: string | undefined;
  /** Waiting files whose header cannot be read: the next replay sets them aside. */
  readonly unreadable: number;
  /** Files a replay set aside (in `set-aside/`) for a person to look at. */
  readonly setAside: number;
}

/** The names of the regular files in `folder`; undefined when it does not exist. */
async function fileNames(folder: string): Promise<string[] | undefined> {
  try {
    return (await readdir(folder, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/**
 * Counts a spill folder's files and rows from their header lines only, without
 * taking, moving or removing any file (a running exporter may be replaying
 * them). Undefined when the folder does not exist.
 */
export async function spillBacklog(directory: string): Promise<SpillBacklog | undefined> {
  const names = await fileNames(directory);
  if (names === undefined) return undefined;
  let files = 0;
  let rows = 0;
  let unreadable = 0;
  let oldest: string | undefined;
  for (const name of names) {
    const kind = parseOwnName(name)?.kind;
    if (kind !== 'spill' && kind !== 'claim') continue;
    files++;
    const header = await readHeaderSummary(join(directory, name));
    if (!header) {
      unreadable++;
      continue;
    }
    rows += header.rows;
    if (oldest === undefined || header.created < oldest) oldest = header.created;
  }
  const setAside = ((await fileNames(join(directory, SET_ASIDE_FOLDER))) ?? []).filter(
    (name) => !name.endsWith(REASON_SUFFIX),
  ).length;
  return { files, rows, oldest, unreadable, setAside };
}
