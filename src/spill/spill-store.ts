/**
 * The spill: batches the sink could not take in time, kept on disk until a
 * replay sends them. A file holds rows and the table they were meant for (not
 * SQL, see spill-format.ts), so a spill can be restored into any sink. This
 * module keeps the folder's books:
 * - a spill is written under a temporary name, every byte written and synced,
 *   then renamed: `store()` resolves only once the file is whole and durable,
 *   and when it rejects nothing of it is left (see durable-file.ts);
 * - a replay claims a file by renaming it to a name that carries its process
 *   (host, PID, token: see process-owner.ts), and keeps a lease in the folder
 *   while it holds claims, so that the claims of a process that died, even one
 *   whose PID a new process now has, are released and replayed;
 * - it touches only the names it writes (spill-names.ts), its lease and its
 *   `set-aside/` folder: never another entry of the folder, never a folder.
 */
import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { diag } from '@opentelemetry/api';
import type { MetricEvent } from '../schema/columns.js';
import {
  isLeaseName,
  LEASE_STALE_MILLIS,
  OwnerLeases,
  thisProcess,
  type ProcessOwner,
} from '../sinks/process-owner.js';
import { writeFileDurably, writeSmallFile } from './durable-file.js';
import { fileModesOf, makeFolders, type FileModes, type FileModeSetting } from './file-modes.js';
import {
  decodeSpill,
  encodeSpill,
  HEADER_MAX_BYTES,
  headerSummary,
  type SpillDestination,
  type SpilledBatch,
} from './spill-format.js';
import {
  claimName,
  isSpillFileName,
  parseOwnName,
  spillFileName,
  temporaryName,
  type NameOwner,
} from './spill-names.js';

export { CorruptSpillError, type SpillDestination, type SpilledBatch } from './spill-format.js';
export { IncompleteWriteError } from './durable-file.js';

const log = diag.createComponentLogger({ namespace: 'llamonitor-otel/spill' });

export const SET_ASIDE_FOLDER = 'set-aside';
/** Next to each file set aside, why: `set-aside/<file>.reason.txt`. */
const REASON_SUFFIX = '.reason.txt';

export interface SpillStoreOptions {
  /** `private` (files 0600, folders 0700; the default) or `group` (0640, 0750). */
  readonly fileMode?: FileModeSetting | undefined;
  /**
   * Also take files claimed by a process of another host (a spill folder on
   * shared storage) once that process's lease in the folder is stale or gone.
   * Off by default: this host cannot tell whether such a process still runs.
   * `llamonitor replay` turns it on.
   */
  readonly otherHosts?: boolean | undefined;
}

/** A file taken by this process for replay: renamed so that no other process replays it at once. */
export interface ClaimedSpill {
  readonly name: string;
  readonly path: string;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class SpillStore {
  private readonly modes: FileModes;
  private readonly otherHosts: boolean;
  private readonly leases: OwnerLeases;
  /** Paths of the claims this store holds; its lease is published while there is one. */
  private readonly held = new Set<string>();
  /** Publishing and removing the lease, one after the other. */
  private leaseChange: Promise<void> = Promise.resolve();
  private foreignEntriesNoted = false;

  constructor(
    readonly directory: string,
    private readonly maxBytes: number,
    options: SpillStoreOptions = {},
  ) {
    this.modes = fileModesOf(options.fileMode);
    this.otherHosts = options.otherHosts ?? false;
    this.leases = new OwnerLeases(directory);
  }

  /**
   * Writes rows durably and returns the file's name; then enforces the size
   * cap. Rejects (and leaves no file) when any byte could not be written and
   * synced, a full disk included.
   */
  async store(rows: readonly MetricEvent[], destination: SpillDestination, reason: string): Promise<string> {
    const parts = encodeSpill(rows, destination, reason);
    const name = spillFileName(Date.now(), process.pid, randomUUID());
    await makeFolders(this.directory, this.modes.folder);
    await writeFileDurably(
      join(this.directory, temporaryName(name, thisProcess())),
      join(this.directory, name),
      parts,
      this.modes.file,
    );
    // The spill is durable: a failure to trim the folder must not make the export fail.
    await this.enforceCap().catch((error: Error) =>
      log.warn(`could not enforce the size cap of the spill folder ${this.directory}: ${error.message}`),
    );
    return name;
  }

  /**
   * Spill files ready for replay, oldest first. Claims of processes that
   * died are released, and temporary files they left are removed; entries
   * the store did not write are left as they are.
   */
  async list(): Promise<string[]> {
    const ready: string[] = [];
    let foreign = 0;
    for (const entry of await this.entries()) {
      const own = entry.isFile() ? parseOwnName(entry.name) : undefined;
      if (own === undefined) {
        if (entry.name !== SET_ASIDE_FOLDER && !isLeaseName(entry.name)) foreign++;
      } else if (own.kind === 'spill') {
        ready.push(entry.name);
      } else if (own.kind === 'claim') {
        if (await this.releaseIfAbandoned(entry.name, own.spill, own.owner)) ready.push(own.spill);
      } else if (await this.isAbandoned(own.owner, entry.name, 'temporary')) {
        // A spill that never completed: its export did not report SUCCESS, so nothing acknowledged is lost.
        await rm(join(this.directory, entry.name), { force: true });
      }
    }
    if (foreign > 0 && !this.foreignEntriesNoted) {
      this.foreignEntriesNoted = true;
      log.debug(
        `the spill folder ${this.directory} holds ${foreign} entries it did not write: left as they are`,
      );
    }
    return ready.sort();
  }

  /** Takes a file for replay; undefined when another process took it first. */
  async claim(name: string): Promise<ClaimedSpill | undefined> {
    if (!isSpillFileName(name)) throw new Error(`${name} is not the name of a spill file`);
    const path = join(this.directory, claimName(name, thisProcess()));
    this.held.add(path);
    try {
      await this.changeLease();
      await rename(join(this.directory, name), path);
    } catch (error) {
      await this.letGo(path);
      if (isMissing(error)) return undefined;
      throw error;
    }
    return { name, path };
  }

  /** Gives a claimed file back (the replay failed; a later one will try again). */
  async release(claimed: ClaimedSpill): Promise<void> {
    try {
      await rename(claimed.path, join(this.directory, claimed.name));
    } finally {
      await this.letGo(claimed.path);
    }
  }

  /** Reads a claimed file, every row fitted to its columns; throws CorruptSpillError when it cannot be replayed as it is. */
  async read(claimed: ClaimedSpill): Promise<SpilledBatch> {
    return decodeSpill(claimed.name, await readFile(claimed.path, 'utf8'));
  }

  /** Removes a replayed file. */
  async remove(claimed: ClaimedSpill): Promise<void> {
    try {
      await rm(claimed.path, { force: true });
    } finally {
      await this.letGo(claimed.path);
    }
  }

  /**
   * Moves a spill file out of the replay's way, into `set-aside/`, with the
   * reason in `set-aside/<name>.reason.txt` and a warning.
   */
  async setAside(name: string, reason: string, path = join(this.directory, name)): Promise<void> {
    if (!isSpillFileName(name)) throw new Error(`${name} is not the name of a spill file`);
    const folder = join(this.directory, SET_ASIDE_FOLDER);
    try {
      await makeFolders(folder, this.modes.folder);
      await rename(path, join(folder, name));
    } finally {
      await this.letGo(path);
    }
    const reasonPath = join(folder, name + REASON_SUFFIX);
    await writeSmallFile(reasonPath, `${reason}\n`, this.modes.file).catch((error: Error) =>
      log.warn(`could not write ${reasonPath}: ${error.message}`),
    );
    log.warn(`set aside ${name} from the spill folder ${this.directory}: ${reason}`);
  }

  /** The folder's entries; none when it does not exist. */
  private async entries(): Promise<Dirent[]> {
    try {
      return await readdir(this.directory, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  /** Publishes this process's lease before its first claim, removes it after its last. */
  private changeLease(): Promise<void> {
    const wanted = this.held.size > 0;
    this.leaseChange = this.leaseChange
      .catch(() => {})
      .then(async () => {
        if (!wanted) return this.leases.stop();
        try {
          await this.leases.publish(this.modes.file);
        } catch (error) {
          await this.leases.stop(); // publish() keeps a failed attempt; stop() forgets it for the next claim
          throw error;
        }
      });
    return this.leaseChange;
  }

  private async letGo(path: string): Promise<void> {
    if (this.held.delete(path) && this.held.size === 0) await this.changeLease().catch(() => {});
  }

  /** Whether the process that wrote a claim or a temporary file is gone, so that its file is free. */
  private async isAbandoned(owner: NameOwner, name: string, kind: 'claim' | 'temporary'): Promise<boolean> {
    if ('legacyPid' in owner) {
      // This release never writes such a name: one with this PID is a dead earlier process's.
      return owner.legacyPid === process.pid || !pidRuns(owner.legacyPid);
    }
    const state = await this.leases.stateOf(owner);
    if (state !== 'other-host') return state === 'dead';
    if (!this.otherHosts) return false;
    // A writer holds no lease: its temporary file is taken for abandoned once it stopped changing.
    if (kind === 'temporary') return this.olderThanStale(join(this.directory, name));
    return !(await this.leaseIsFresh(owner));
  }

  private async releaseIfAbandoned(name: string, spill: string, owner: NameOwner): Promise<boolean> {
    if (!(await this.isAbandoned(owner, name, 'claim'))) return false;
    try {
      await rename(join(this.directory, name), join(this.directory, spill));
    } catch (error) {
      if (isMissing(error)) return false; // another process released it first
      throw error;
    }
    log.info(`released ${spill}: the process that claimed it is gone`);
    return true;
  }

  /** Whether `owner` (of another host) keeps its lease in this folder fresh: it still replays. */
  private async leaseIsFresh(owner: ProcessOwner): Promise<boolean> {
    const path = join(this.directory, `.owner-${owner.host}~${owner.pid}`);
    try {
      const [token, modified] = await Promise.all([
        readFile(path, 'utf8').then((text) => text.trim()),
        stat(path).then((s) => s.mtimeMs),
      ]);
      return token === owner.token && Date.now() - modified <= LEASE_STALE_MILLIS;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  private async olderThanStale(path: string): Promise<boolean> {
    try {
      return Date.now() - (await stat(path)).mtimeMs > LEASE_STALE_MILLIS;
    } catch {
      return false;
    }
  }

  /** Rows a spill file holds, read from its header; 0 when it cannot be read. */
  private async rowsIn(name: string): Promise<number> {
    return (await readHeader(join(this.directory, name)))?.rows ?? 0;
  }

  /** Past the size cap, the oldest files go, with a warning that counts the rows dropped. */
  private async enforceCap(): Promise<void> {
    const names = (await this.entries())
      .filter((entry) => entry.isFile() && isSpillFileName(entry.name))
      .map((entry) => entry.name)
      .sort();
    const sizes = await Promise.all(
      names.map((name) =>
        stat(join(this.directory, name)).then(
          (s) => s.size,
          () => 0, // replayed meanwhile
        ),
      ),
    );
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
}

/** A spill file's header line, read alone; undefined when it cannot be read. */
async function readHeader(path: string): Promise<ReturnType<typeof headerSummary>> {
  try {
    const file = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await file.read({ buffer: Buffer.alloc(HEADER_MAX_BYTES), position: 0 });
      return headerSummary(buffer.subarray(0, bytesRead).toString('utf8'));
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
    const header = await readHeader(join(directory, name));
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
