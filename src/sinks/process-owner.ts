/**
 * Which process owns a file (a write-ahead segment, a claimed spill file), in
 * a way a dead process cannot fake. A PID alone is not enough: in a container
 * the application is PID 1 at every start, and elsewhere PIDs are reused. So
 * each process draws a random token once (its worker threads adopt it, so a
 * thread is never taken for another process), writes it into the names of the
 * files it owns, and keeps a lease file per folder, `.owner-<host>~<pid>`,
 * holding the token, its mtime refreshed by a heartbeat. An owner is alive when:
 * - it is this process: same host, PID and token (same PID, other token: a
 *   dead earlier process that had this PID);
 * - another PID on this host: the PID runs, and its lease in the folder holds
 *   the owner's token and is fresh (a lease with another token or a stale one
 *   means the PID now belongs to someone else); a PID that runs and has no
 *   lease is taken as alive (a release older than leases wrote the file);
 * - another host: it cannot be told from here; such files are recovered only
 *   when asked (`llamonitor recover`, `llamonitor replay`).
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface ProcessOwner {
  /** os.hostname(), reduced to letters, digits and `-`. */
  readonly host: string;
  readonly pid: number;
  /** Random per process, shared by its worker threads. */
  readonly token: string;
}

export type OwnerState = 'alive' | 'dead' | 'other-host';

/** The token lives on globalThis so that every copy of this module in one thread draws the same one. */
const TOKEN = Symbol.for('llamonitor-otel.process-token');
const globals = globalThis as { [TOKEN]?: string };

/** How often a lease's mtime is refreshed, and how old it may be before its owner counts as gone. */
export const LEASE_HEARTBEAT_MILLIS = 30_000;
export const LEASE_STALE_MILLIS = 5 * LEASE_HEARTBEAT_MILLIS;

export function hostLabel(name: string): string {
  return name.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63) || 'host';
}

/** This process as an owner. */
export function thisProcess(): ProcessOwner {
  return {
    host: hostLabel(hostname()),
    pid: process.pid,
    token: (globals[TOKEN] ??= randomBytes(8).toString('hex')),
  };
}

/**
 * Makes this thread use its process's token: a worker thread calls it first,
 * with the token its parent passed in workerData, before it owns any file.
 */
export function adoptProcessToken(token: string): void {
  if (!/^[0-9a-f]{8,32}$/.test(token)) throw new Error(`not a process token: ${token}`);
  globals[TOKEN] = token;
}

/** Whether a process with this PID runs on this host (whoever it is). */
export function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function leaseName(owner: Pick<ProcessOwner, 'host' | 'pid'>): string {
  return `.owner-${owner.host}~${owner.pid}`;
}

/** True for the name of a lease file, so that a folder's listing can pass over it. */
export function isLeaseName(name: string): boolean {
  return /^\.owner-[A-Za-z0-9-]+~\d+(\.tmp-[0-9a-f]+)?$/.test(name);
}

/** The token and mtime of `owner`'s lease in `folder`; undefined when it has none. */
interface Lease {
  readonly token: string;
  readonly modified: number;
}

async function readLease(
  folder: string,
  owner: Pick<ProcessOwner, 'host' | 'pid'>,
): Promise<Lease | undefined> {
  const path = join(folder, leaseName(owner));
  try {
    const [token, modified] = await Promise.all([
      readFile(path, 'utf8').then((text) => text.trim()),
      stat(path).then((s) => s.mtimeMs),
    ]);
    return { token, modified };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Whether `owner`'s lease in `folder` holds its token and is fresh: its process (on another host, say) still works there. */
export async function leaseIsFresh(folder: string, owner: ProcessOwner, now = Date.now()): Promise<boolean> {
  return holdsLease(await readLease(folder, owner), owner, now);
}

/** The lease holds the owner's token and was refreshed lately. */
function holdsLease(lease: Lease | undefined, owner: ProcessOwner, now: number): boolean {
  return lease !== undefined && lease.token === owner.token && now - lease.modified <= LEASE_STALE_MILLIS;
}

/** The leases of one folder: this process's own, kept fresh, and the reading of others'. */
export class OwnerLeases {
  private heartbeat: NodeJS.Timeout | undefined;
  private published: Promise<void> | undefined;
  private fileMode = 0o600;

  constructor(
    readonly folder: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes this process's lease (once) and keeps it fresh until stop(); the folder must exist. */
  publish(fileMode = 0o600): Promise<void> {
    this.fileMode = fileMode;
    this.published ??= this.writeLease().then(() => {
      this.heartbeat = setInterval(() => void this.touch(), LEASE_HEARTBEAT_MILLIS);
      this.heartbeat.unref();
    });
    return this.published;
  }

  /** Stops the heartbeat and removes this process's lease: its files are then free for others to take. */
  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    if (!this.published) return;
    this.published = undefined;
    await rm(join(this.folder, leaseName(thisProcess())), { force: true });
  }

  /** Whether `owner` still holds its files. */
  async stateOf(owner: ProcessOwner): Promise<OwnerState> {
    const self = thisProcess();
    if (owner.host !== self.host) return 'other-host';
    if (owner.pid === self.pid) return owner.token === self.token ? 'alive' : 'dead';
    if (!pidRuns(owner.pid)) return 'dead';
    const lease = await readLease(this.folder, owner);
    if (lease === undefined) return 'alive'; // a running PID with no lease: a release older than leases
    return holdsLease(lease, owner, this.now()) ? 'alive' : 'dead';
  }

  private async writeLease(): Promise<void> {
    const self = thisProcess();
    const final = join(this.folder, leaseName(self));
    const temporary = `${final}.tmp-${randomBytes(4).toString('hex')}`;
    const file = await open(temporary, 'w', this.fileMode);
    try {
      await file.writeFile(`${self.token}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, final);
  }

  private async touch(): Promise<void> {
    const seconds = this.now() / 1000;
    // A lease removed by hand (or its folder) is written again, so that this process is not taken for dead.
    await utimes(join(this.folder, leaseName(thisProcess())), seconds, seconds)
      .catch(() => this.writeLease())
      .catch(() => undefined);
  }
}
