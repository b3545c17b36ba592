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
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { diag } from '@opentelemetry/api';
import type { MetricEvent } from '../schema/columns.js';
import { isLeaseName, thisProcess } from '../sinks/process-owner.js';
import { DEAD_LETTER_FOLDER } from './dead-letter.js';
import { writeFileDurably, writeSmallFile } from './durable-file.js';
import { isMissing, readHeaderSummary, REASON_SUFFIX, SET_ASIDE_FOLDER } from './spill-backlog.js';
import { fileModesOf, makeFolders, type FileModes, type FileMode } from '../sinks/file-modes.js';
import { decodeSpill, encodeSpill, type SpillDestination, type SpilledBatch } from './spill-format.js';
import {
  claimName,
  isSpillFileName,
  parseOwnName,
  spillFileName,
  temporaryName,
  type NameOwner,
} from './spill-names.js';
import { SpillOwners } from './spill-owners.js';

export { CorruptSpillError, type SpillDestination, type SpilledBatch } from './spill-format.js';
export { IncompleteWriteError } from './durable-file.js';
export { SET_ASIDE_FOLDER, spillBacklog, type SpillBacklog } from './spill-backlog.js';

const log = diag.createComponentLogger({ namespace: 'llamonitor-otel/spill' });

export interface SpillStoreOptions {
  /** `private` (files 0600, folders 0700; the default) or `group` (0640, 0750). */
  readonly fileMode?: FileMode | undefined;
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

/** Folders of the package in the spill folder: not the store's to touch, nor foreign. */
const KNOWN_FOLDERS = new Set([SET_ASIDE_FOLDER, DEAD_LETTER_FOLDER]);

export class SpillStore {
  private readonly modes: FileModes;
  private readonly owners: SpillOwners;
  private foreignEntriesNoted = false;

  constructor(
    readonly directory: string,
    private readonly maxBytes: number,
    options: SpillStoreOptions = {},
  ) {
    this.modes = fileModesOf(options.fileMode);
    this.owners = new SpillOwners(directory, this.modes.file, options.otherHosts ?? false);
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
        if (!KNOWN_FOLDERS.has(entry.name) && !isLeaseName(entry.name)) foreign++;
      } else if (own.kind === 'spill') {
        ready.push(entry.name);
      } else if (own.kind === 'claim') {
        if (await this.releaseIfAbandoned(entry.name, own.spill, own.owner)) ready.push(own.spill);
      } else if (await this.owners.isGone(own.owner, entry.name, 'temporary')) {
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
    await this.owners.hold(path);
    try {
      await rename(join(this.directory, name), path);
    } catch (error) {
      await this.owners.letGo(path);
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
      await this.owners.letGo(claimed.path);
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
      await this.owners.letGo(claimed.path);
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
      await this.owners.letGo(path);
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

  private async releaseIfAbandoned(name: string, spill: string, owner: NameOwner): Promise<boolean> {
    if (!(await this.owners.isGone(owner, name, 'claim'))) return false;
    try {
      await rename(join(this.directory, name), join(this.directory, spill));
    } catch (error) {
      if (isMissing(error)) return false; // another process released it first
      throw error;
    }
    log.info(`released ${spill}: the process that claimed it is gone`);
    return true;
  }

  /** Rows a spill file holds, read from its header; 0 when it cannot be read. */
  private async rowsIn(name: string): Promise<number> {
    return (await readHeaderSummary(join(this.directory, name)))?.rows ?? 0;
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
