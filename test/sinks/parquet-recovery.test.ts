/**
 * Which leftovers in a WAL folder recovery takes: those of processes that
 * are gone, told by a token a dead process cannot hold (process-owner.ts),
 * never those of a live process, and those of another host only when asked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LEASE_STALE_MILLIS, OwnerLeases, thisProcess } from '../../src/sinks/process-owner.js';
import {
  compactTime,
  segmentFileName,
  tempFileName,
  type Owner,
} from '../../src/sinks/parquet/dataset-layout.js';
import {
  abandonedSegments,
  removeAbandonedTempFiles,
  removeDeadLeases,
} from '../../src/sinks/parquet/recovery.js';
import { describeWaitingSegments } from '../../src/sinks/parquet/waiting-segments.js';
import {
  batchRecords,
  endedOwner,
  leaveSegment,
  segmentOf as segmentWith,
  v1SegmentOf,
} from '../support/parquet-segments.js';
import { sampleRows } from '../support/sample-rows.js';

let wal: string;
let leases: OwnerLeases;
let running: ChildProcess;

beforeAll(async () => {
  running = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((resolve) => running.once('spawn', resolve));
});
afterAll(() => running.kill('SIGKILL'));

beforeEach(() => {
  wal = mkdtempSync(join(tmpdir(), 'llamonitor-recovery-'));
  leases = new OwnerLeases(wal);
});
afterEach(() => rmSync(wal, { recursive: true, force: true }));

let sequence = 0;
function segmentOf(owner: Owner): string {
  const uuid = `00000000-0000-4000-8000-${String(++sequence).padStart(12, '0')}`;
  const name = segmentFileName({ time: compactTime(Date.now()), uuid, owner });
  writeFileSync(join(wal, name), '');
  return name;
}

function leaseOf(owner: Owner, ageMillis = 0): void {
  const path = join(wal, `.owner-${owner.host}~${owner.pid}`);
  writeFileSync(path, `${owner.token}\n`);
  const seconds = (Date.now() - ageMillis) / 1000;
  utimesSync(path, seconds, seconds);
}

const thisHost = () => thisProcess().host;
const runningOwner = (token: string): Owner => ({ host: thisHost(), pid: running.pid as number, token });
const here = { otherHosts: false };
const everywhere = { otherHosts: true };

describe('abandonedSegments', () => {
  it('takes the segment of a process that has ended', async () => {
    const name = segmentOf(endedOwner());
    expect(await abandonedSegments(wal, leases, here)).toEqual([name]);
  });

  it('takes the segment of an earlier process that had this PID (a container restart), and leaves its own', async () => {
    const earlier = segmentOf({ ...thisProcess(), token: '0123456789abcdef' });
    segmentOf(thisProcess());
    expect(await abandonedSegments(wal, leases, here)).toEqual([earlier]);
  });

  it('takes the segment of a dead process whose PID another process now has, told by the lease', async () => {
    const reused = segmentOf(runningOwner('1111111111111111'));
    leaseOf(runningOwner('2222222222222222')); // the process that now has the PID publishes its own token
    expect(await abandonedSegments(wal, leases, here)).toEqual([reused]);
  });

  it('takes the segment whose owner stopped refreshing its lease, although its PID runs', async () => {
    const stale = segmentOf(runningOwner('1111111111111111'));
    leaseOf(runningOwner('1111111111111111'), LEASE_STALE_MILLIS + 60_000);
    expect(await abandonedSegments(wal, leases, here)).toEqual([stale]);
  });

  it('leaves the segment of a running process with a fresh lease, or with none (an earlier release)', async () => {
    segmentOf(runningOwner('1111111111111111'));
    expect(await abandonedSegments(wal, leases, here)).toEqual([]);
    leaseOf(runningOwner('1111111111111111'));
    expect(await abandonedSegments(wal, leases, here)).toEqual([]);
  });

  it("leaves another host's segments, unless asked; then takes them when their lease is missing or stale", async () => {
    const pod = (pid: number): Owner => ({ host: 'another-pod', pid, token: 'abcdef0123456789' });
    const noLease = segmentOf(pod(1));
    const stale = segmentOf(pod(2));
    leaseOf(pod(2), LEASE_STALE_MILLIS + 60_000);
    segmentOf(pod(3));
    leaseOf(pod(3));
    expect(await abandonedSegments(wal, leases, here)).toEqual([]);
    expect((await abandonedSegments(wal, leases, everywhere)).sort()).toEqual([noLease, stale].sort());
  });
});

describe('removeAbandonedTempFiles', () => {
  it('removes the temporary files of ended processes only', async () => {
    const ended = tempFileName('part-x.parquet', '2026-03-01', endedOwner());
    const own = tempFileName('part-y.parquet', '2026-03-01', thisProcess());
    for (const name of [ended, own]) writeFileSync(join(wal, name), '');
    expect(await removeAbandonedTempFiles(wal, leases, here)).toBe(1);
    expect(readdirSync(wal)).toEqual([own]);
  });
});

describe('removeDeadLeases', () => {
  it("removes the lease of an ended process, keeps a live one's, and keeps a dead one's while its segment is left", async () => {
    const ended = endedOwner('aaaaaaaaaaaaaaaa');
    const endedWithSegment = endedOwner('bbbbbbbbbbbbbbbb');
    const live = runningOwner('cccccccccccccccc');
    for (const owner of [ended, endedWithSegment, live]) leaseOf(owner);
    segmentOf(endedWithSegment);
    await removeDeadLeases(wal, leases, here);
    const lease = (owner: Owner) => existsSync(join(wal, `.owner-${owner.host}~${owner.pid}`));
    expect([lease(ended), lease(endedWithSegment), lease(live)]).toEqual([false, true, true]);
  });
});

describe('describeWaitingSegments', () => {
  it("counts the segments, their acknowledged rows in either format, the oldest, each owner's state, and the quarantined", async () => {
    const folder = wal; // a folder of its own: the dataset goes below it
    const ended = endedOwner();
    const torn = batchRecords(3, sampleRows(10, { seed: 'torn' }));
    leaveSegment(
      folder,
      Buffer.concat([segmentWith([sampleRows(30), sampleRows(20, 30)]), torn.subarray(0, 100)]),
      ended,
    );
    leaveSegment(folder, v1SegmentOf([sampleRows(12, { seed: 'old' })]), thisProcess());
    leaveSegment(folder, segmentWith([sampleRows(5, { seed: 'pod' })]), {
      host: 'another-pod',
      pid: 3,
      token: 'ab',
    });
    mkdirSync(join(folder, 'metric_events', '_wal', 'quarantine'));
    writeFileSync(join(folder, 'metric_events', '_wal', 'quarantine', 'damaged.wal'), '');
    const waiting = await describeWaitingSegments(folder, 'metric_events');
    expect(waiting).toMatchObject({ segments: 3, rows: 67, quarantined: 1 });
    expect(waiting.oldest).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(new Set(waiting.owners.map(({ pid, state, rows }) => ({ pid, state, rows })))).toEqual(
      new Set([
        { pid: ended.pid, state: 'dead', rows: 50 },
        { pid: process.pid, state: 'alive', rows: 12 },
        { pid: 3, state: 'other-host', rows: 5 },
      ]),
    );
  });

  it('finds nothing waiting in a dataset not made yet', async () => {
    expect(await describeWaitingSegments(join(wal, 'none'), 'metric_events')).toMatchObject({
      segments: 0,
      rows: 0,
      oldest: undefined,
      quarantined: 0,
    });
  });
});
