/**
 * Whose claims and temporary files lie in the spill folder, and this
 * process's own lease there. A replay publishes its lease (host, PID, token,
 * a heartbeat: see process-owner.ts) before its first claim and removes it
 * after its last, so that another process can tell a live claimant from a
 * dead one whose PID was reused, or whose PID this very process now has.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LEASE_STALE_MILLIS, leaseIsFresh, OwnerLeases, pidRuns } from '../sinks/process-owner.js';
import type { NameOwner } from './spill-names.js';

export class SpillOwners {
  private readonly leases: OwnerLeases;
  /** Paths of the claims this process holds; its lease is published while there is one. */
  private readonly held = new Set<string>();
  /** Publishing and removing the lease, one after the other. */
  private leaseChange: Promise<void> = Promise.resolve();

  constructor(
    private readonly folder: string,
    private readonly fileMode: number,
    /** Take files of other hosts' processes once their lease is stale or gone (`llamonitor replay`). */
    private readonly otherHosts: boolean,
  ) {
    this.leases = new OwnerLeases(folder);
  }

  /** Notes a claim about to be made at `path`; the lease is published first. Rejects when it cannot be. */
  async hold(path: string): Promise<void> {
    this.held.add(path);
    try {
      await this.changeLease();
    } catch (error) {
      await this.letGo(path);
      throw error;
    }
  }

  /** The claim at `path` is given back, removed or set aside; after the last one the lease goes. */
  async letGo(path: string): Promise<void> {
    if (this.held.delete(path) && this.held.size === 0) await this.changeLease().catch(() => {});
  }

  /** Whether the process that wrote a claim or a temporary file is gone, so that its file is free. */
  async isGone(owner: NameOwner, name: string, kind: 'claim' | 'temporary'): Promise<boolean> {
    if ('legacyPid' in owner) {
      // This release never writes such a name: one with this PID is a dead earlier process's.
      return owner.legacyPid === process.pid || !pidRuns(owner.legacyPid);
    }
    const state = await this.leases.stateOf(owner);
    if (state !== 'other-host') return state === 'dead';
    if (!this.otherHosts) return false;
    // A writer holds no lease: its temporary file is taken for abandoned once it stopped changing.
    if (kind === 'temporary') return this.olderThanStale(join(this.folder, name));
    return !(await leaseIsFresh(this.folder, owner));
  }

  private changeLease(): Promise<void> {
    const wanted = this.held.size > 0;
    this.leaseChange = this.leaseChange
      .catch(() => {})
      .then(async () => {
        if (!wanted) return this.leases.stop();
        try {
          await this.leases.publish(this.fileMode);
        } catch (error) {
          await this.leases.stop(); // publish() keeps a failed attempt; stop() forgets it for the next claim
          throw error;
        }
      });
    return this.leaseChange;
  }

  private async olderThanStale(path: string): Promise<boolean> {
    try {
      return Date.now() - (await stat(path)).mtimeMs > LEASE_STALE_MILLIS;
    } catch {
      return false;
    }
  }
}
