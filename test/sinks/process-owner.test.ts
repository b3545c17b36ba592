/**
 * Ownership that a dead process cannot hold: the same PID with another token
 * is a dead earlier process (a container's PID 1 after a restart), a PID that
 * another process now has is told apart by its lease.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_STALE_MILLIS, OwnerLeases, thisProcess } from '../../src/sinks/process-owner.js';

describe('process ownership', () => {
  let folder: string;
  let child: ChildProcess;
  let leases: OwnerLeases;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'llamonitor-owner-'));
    leases = new OwnerLeases(folder);
    child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
  });

  afterAll(() => {
    child.kill('SIGKILL');
    rmSync(folder, { recursive: true, force: true });
  });

  const childOwner = (token: string) => ({ host: thisProcess().host, pid: child.pid as number, token });
  const leaseOfChild = () => join(folder, `.owner-${thisProcess().host}~${child.pid}`);

  it('knows this process by its token, and an earlier process with the same PID as dead', async () => {
    const self = thisProcess();
    expect(await leases.stateOf(self)).toBe('alive');
    expect(await leases.stateOf({ ...self, token: '00000000deadbeef' })).toBe('dead');
  });

  it('takes a PID that no longer runs as dead', async () => {
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    expect(await leases.stateOf({ host: thisProcess().host, pid: gone.pid as number, token: 'aa' })).toBe(
      'dead',
    );
  });

  it('takes a running PID as alive only while its lease holds the owner token and is fresh', async () => {
    rmSync(leaseOfChild(), { force: true });
    expect(await leases.stateOf(childOwner('1111111111111111'))).toBe('alive'); // no lease: an older release
    writeFileSync(leaseOfChild(), '1111111111111111\n');
    expect(await leases.stateOf(childOwner('1111111111111111'))).toBe('alive');
    expect(await leases.stateOf(childOwner('2222222222222222'))).toBe('dead');
    const stale = (Date.now() - LEASE_STALE_MILLIS - 60_000) / 1000;
    utimesSync(leaseOfChild(), stale, stale);
    expect(await leases.stateOf(childOwner('1111111111111111'))).toBe('dead');
  });

  it('cannot tell for another host', async () => {
    expect(await leases.stateOf({ host: 'another-pod', pid: 1, token: 'ab' })).toBe('other-host');
  });

  it('publishes this process lease with its token and removes it on stop', async () => {
    const own = new OwnerLeases(folder);
    await own.publish();
    const path = join(folder, `.owner-${thisProcess().host}~${process.pid}`);
    const { readFileSync, existsSync } = await import('node:fs');
    expect(readFileSync(path, 'utf8').trim()).toBe(thisProcess().token);
    await own.stop();
    expect(existsSync(path)).toBe(false);
  });
});
