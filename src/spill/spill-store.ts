/**
 * The spill: batches the sink could not take in time, kept on disk until a
 * replay sends them. A file holds rows and the table they were meant for (not
 * SQL), so a spill can be restored into any sink. Each file is written under a
 * temporary name, fsynced and renamed: a file that exists is whole.
 *
 * File: `spill-<epoch ms>-<pid>-<uuid>.ndjson`; line 1 a header (format, table,
 * schema, row count, SHA-256 of the rest), then one JSON row per line.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { diag } from '@opentelemetry/api';
import { COLUMNS, type MetricEvent } from '../schema/columns.js';

const log = diag.createComponentLogger({ namespace: 'llamonitor-otel/spill' });

const FORMAT = 'llamonitor-spill/1';
const NAME = /^spill-(\d{13})-(\d+)-[0-9a-f-]{36}\.ndjson$/;
const CLAIMED = /^(spill-\d{13}-\d+-[0-9a-f-]{36}\.ndjson)\.claim-(\d+)$/;
const TEMPORARY = /^\.tmp-(\d+)-/;
export const SET_ASIDE_FOLDER = 'set-aside';
const ROWS_PER_CHUNK = 2_000;
const REASON_MAX_CHARS = 2_000;
/** The longest header line: its fields, and a reason of REASON_MAX_CHARS characters of 6 bytes each. */
const HEADER_MAX_BYTES = 16 * 1024;
const INT64_COLUMNS = COLUMNS.filter((c) => c.kind === 'int64').map((c) => c.name);

export interface SpillDestination {
  readonly table: string;
  readonly schema?: string | undefined;
}

export interface SpilledBatch extends SpillDestination {
  readonly rows: MetricEvent[];
  readonly reason: string;
}

interface SpillHeader {
  readonly format: string;
  readonly table: string;
  readonly schema: string | null;
  readonly rows: number;
  readonly created: string;
  readonly reason: string;
  readonly sha256: string;
}

export class CorruptSpillError extends Error {
  constructor(file: string, problem: string) {
    super(`spill file ${file} is unusable: ${problem}`);
    this.name = 'CorruptSpillError';
  }
}

/** A file taken by this process for replay: renamed so that no other process replays it at once. */
export interface ClaimedSpill {
  readonly name: string;
  readonly path: string;
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class SpillStore {
  constructor(
    readonly directory: string,
    private readonly maxBytes: number,
  ) {}

  /** Writes rows durably (data and directory fsynced) and returns the file's name; then enforces the size cap. */
  async store(rows: readonly MetricEvent[], destination: SpillDestination, reason: string): Promise<string> {
    await mkdir(this.directory, { recursive: true });
    const name = `spill-${Date.now()}-${process.pid}-${randomUUID()}.ndjson`;
    const temporary = join(this.directory, `.tmp-${process.pid}-${name}`);
    const hash = createHash('sha256');
    const chunks: string[] = [];
    for (let start = 0; start < rows.length; start += ROWS_PER_CHUNK) {
      let chunk = '';
      const end = Math.min(rows.length, start + ROWS_PER_CHUNK);
      for (let i = start; i < end; i++) chunk += JSON.stringify(rows[i], bigintAsString) + '\n';
      hash.update(chunk);
      chunks.push(chunk);
    }
    const header: SpillHeader = {
      format: FORMAT,
      table: destination.table,
      schema: destination.schema ?? null,
      rows: rows.length,
      created: new Date().toISOString(),
      reason: reason.slice(0, REASON_MAX_CHARS),
      sha256: hash.digest('hex'),
    };
    const file = await open(temporary, 'wx');
    try {
      await file.write(JSON.stringify(header) + '\n');
      for (const chunk of chunks) await file.write(chunk);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, join(this.directory, name));
    await this.syncDirectory();
    await this.enforceCap();
    return name;
  }

  /**
   * Spill files ready for replay, oldest first. Files of processes that died
   * while replaying are released again; foreign files are set aside.
   */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const ready: string[] = [];
    for (const name of names) {
      if (NAME.test(name)) {
        ready.push(name);
        continue;
      }
      const claimed = CLAIMED.exec(name);
      if (claimed) {
        if (!processIsAlive(Number(claimed[2]))) {
          await rename(join(this.directory, name), join(this.directory, claimed[1] as string)).catch(
            () => {},
          );
          ready.push(claimed[1] as string);
        }
        continue;
      }
      const temporary = TEMPORARY.exec(name);
      if (temporary) {
        // A spill that never completed: its export did not report SUCCESS, so nothing acknowledged is lost.
        if (!processIsAlive(Number(temporary[1]))) await rm(join(this.directory, name), { force: true });
        continue;
      }
      if (name === SET_ASIDE_FOLDER) continue;
      await this.setAside(name, 'not a llamonitor spill file');
    }
    return ready.sort();
  }

  /** Takes a file for replay; undefined when another process took it first. */
  async claim(name: string): Promise<ClaimedSpill | undefined> {
    const claimedName = `${name}.claim-${process.pid}`;
    const path = join(this.directory, claimedName);
    try {
      await rename(join(this.directory, name), path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return { name, path };
  }

  /** Gives a claimed file back (the replay failed; a later one will try again). */
  async release(claimed: ClaimedSpill): Promise<void> {
    await rename(claimed.path, join(this.directory, claimed.name));
  }

  /** Reads a claimed file; throws CorruptSpillError when it is damaged or not ours. */
  async read(claimed: ClaimedSpill): Promise<SpilledBatch> {
    const text = await readFile(claimed.path, 'utf8');
    const newline = text.indexOf('\n');
    if (newline < 0) throw new CorruptSpillError(claimed.name, 'no header line');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.slice(0, newline));
    } catch {
      throw new CorruptSpillError(claimed.name, 'the header is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new CorruptSpillError(claimed.name, 'the header is not a JSON object');
    const header = parsed as SpillHeader;
    if (header.format !== FORMAT)
      throw new CorruptSpillError(claimed.name, `unknown format ${String(header.format)}`);
    const body = text.slice(newline + 1);
    const digest = createHash('sha256').update(body).digest('hex');
    if (digest !== header.sha256)
      throw new CorruptSpillError(claimed.name, 'the checksum does not match (truncated or changed)');
    const rows: MetricEvent[] = [];
    for (const line of body.split('\n')) {
      if (line === '') continue;
      try {
        const row = JSON.parse(line) as Record<string, unknown>;
        for (const column of INT64_COLUMNS) {
          if (typeof row[column] === 'string') row[column] = BigInt(row[column]);
        }
        rows.push(row as unknown as MetricEvent);
      } catch (error) {
        // The checksum matched: a file made to look like a spill, not one damaged on disk.
        throw new CorruptSpillError(
          claimed.name,
          `row ${rows.length + 1} is unreadable: ${(error as Error).message}`,
        );
      }
    }
    if (rows.length !== header.rows) {
      throw new CorruptSpillError(
        claimed.name,
        `the header counts ${header.rows} rows, the file holds ${rows.length}`,
      );
    }
    return { table: header.table, schema: header.schema ?? undefined, rows, reason: header.reason };
  }

  /** Removes a replayed file. */
  async remove(claimed: ClaimedSpill): Promise<void> {
    await rm(claimed.path, { force: true });
  }

  /** Moves a file out of the replay's way, into `set-aside/`, with a warning. */
  async setAside(name: string, reason: string, path = join(this.directory, name)): Promise<void> {
    const folder = join(this.directory, SET_ASIDE_FOLDER);
    await mkdir(folder, { recursive: true });
    await rename(path, join(folder, name));
    log.warn(`set aside ${name} from the spill folder ${this.directory}: ${reason}`);
  }

  /** Rows a spill file holds, read from its header; 0 when it cannot be read. */
  private async rowsIn(name: string): Promise<number> {
    return (await readHeader(join(this.directory, name)))?.rows ?? 0;
  }

  /** Past the size cap, the oldest files go, with a warning that counts the rows dropped. */
  private async enforceCap(): Promise<void> {
    const names = (await readdir(this.directory)).filter((n) => NAME.test(n)).sort();
    const sizes = await Promise.all(names.map(async (n) => (await stat(join(this.directory, n))).size));
    let total = sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < names.length - 1 && total > this.maxBytes; i++) {
      const name = names[i] as string;
      const rows = await this.rowsIn(name);
      await rm(join(this.directory, name), { force: true });
      total -= sizes[i] as number;
      log.warn(
        `spill folder ${this.directory} is over its cap of ${this.maxBytes} bytes: dropped ${name} and its ${rows} rows`,
      );
    }
  }

  private async syncDirectory(): Promise<void> {
    const dir = await open(this.directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** A spill file's header line, read alone; undefined when it cannot be read. */
async function readHeader(path: string): Promise<SpillHeader | undefined> {
  try {
    const file = await open(path, 'r');
    try {
      // The header's reason is at most 2,000 characters, which JSON may write as 6 bytes each.
      const { buffer, bytesRead } = await file.read({ buffer: Buffer.alloc(HEADER_MAX_BYTES), position: 0 });
      const text = buffer.subarray(0, bytesRead).toString('utf8');
      const header = JSON.parse(text.slice(0, text.indexOf('\n'))) as SpillHeader;
      return header.format === FORMAT && Number.isInteger(header.rows) ? header : undefined;
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
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

/**
 * Counts a spill folder's files and rows from their header lines only, without
 * taking, moving or removing any file (a running exporter may be replaying
 * them). Undefined when the folder does not exist.
 */
export async function spillBacklog(directory: string): Promise<SpillBacklog | undefined> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let files = 0;
  let rows = 0;
  let unreadable = 0;
  let oldest: string | undefined;
  for (const name of names) {
    if (!NAME.test(name) && !CLAIMED.test(name)) continue;
    files++;
    const header = await readHeader(join(directory, name));
    if (!header) {
      unreadable++;
      continue;
    }
    rows += header.rows;
    if (oldest === undefined || header.created < oldest) oldest = header.created;
  }
  const setAside = await readdir(join(directory, SET_ASIDE_FOLDER)).then(
    (entries) => entries.length,
    () => 0,
  );
  return { files, rows, oldest, unreadable, setAside };
}
