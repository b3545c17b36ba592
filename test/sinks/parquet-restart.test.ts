/**
 * A process that starts where an earlier one died recovers what that one
 * confirmed, even with the same PID (a container's PID 1 at every start) or
 * when another process now has the dead one's PID; segments of another host
 * wait for `llamonitor recover`. Real processes, from the built package.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSegmentFileName, segmentFileName } from '../../src/sinks/parquet/dataset-layout.js';
import { isLeaseName } from '../../src/sinks/process-owner.js';
import { importBuilt } from '../support/built-package.js';
import { runCli } from '../support/child-process.js';
import { runParquetChild } from '../support/parquet-child-runner.js';
import { queryDataset } from '../support/parquet-readers.js';
import { leaveSegment, segmentOf } from '../support/parquet-segments.js';
import { sampleRows } from '../support/sample-rows.js';

type ParquetModule = typeof import('../../src/sinks/parquet/index.js');
type ParquetSinkType = InstanceType<ParquetModule['ParquetSink']>;
const { ParquetSink } = await importBuilt<ParquetModule>('sinks/parquet/index.js');

const folders: string[] = [];
const sinks: ParquetSinkType[] = [];

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-restart-'));
  folders.push(folder);
  return folder;
}

function openSink(folder: string): ParquetSinkType {
  const sink = new ParquetSink(folder, {
    table: 'metric_events',
    poolSize: 1,
    createTable: true,
    fileRows: 100_000,
    fileAgeMillis: 600_000,
    warnings: false,
  });
  sinks.push(sink);
  return sink;
}

afterEach(async () => {
  await Promise.allSettled(sinks.splice(0).map((sink) => sink.close()));
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const wal = (folder: string) => join(folder, 'metric_events', '_wal');
const segments = (folder: string) => readdirSync(wal(folder)).filter((name) => name.endsWith('.wal'));

async function count(folder: string): Promise<number> {
  const [row] = await queryDataset(
    join(folder, 'metric_events'),
    'SELECT count(*)::INTEGER AS n, count(DISTINCT event_id)::INTEGER AS d FROM {dataset}',
  );
  expect(row?.d).toBe(row?.n);
  return (row as { n: number }).n;
}

/** A new PID namespace whose first process, node here, is PID 1: as in a container. */
const AS_PID_1 = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];

/** Why a process cannot be made PID 1 here, or undefined when it can. */
function pid1Refused(): string | undefined {
  const probe = spawnSync(
    AS_PID_1[0] as string,
    [...AS_PID_1.slice(1), process.execPath, '-p', 'process.pid'],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (probe.error) return probe.error.message;
  if (probe.stdout.trim() !== '1') return `unshare answered ${probe.status}: ${probe.stderr.trim()}`;
  return undefined;
}

/** Kills, with SIGKILL from outside its namespace, the PID 1 that `unshare` (pid `wrapper`) started. */
function killNamespaceInit(wrapper: number): void {
  const children = readFileSync(`/proc/${wrapper}/task/${wrapper}/children`, 'utf8').trim().split(/\s+/);
  for (const pid of children) process.kill(Number(pid), 'SIGKILL');
}

const refused = process.platform === 'linux' ? pid1Refused() : 'PID namespaces are Linux only';
if (refused)
  console.warn(`skipping the PID 1 restart test: a PID namespace cannot be made here (${refused})`);

describe('a restarted process with the PID of the one that died', () => {
  it.skipIf(refused !== undefined)(
    'as PID 1 (a container restarted), recovers the 300 rows that the killed PID 1 writer confirmed',
    async () => {
      const folder = tempFolder();
      const first = runParquetChild(['write-then-wait', folder, '300'], { stdin: 'pipe', wrapper: AS_PID_1 });
      await first.printed('written');
      killNamespaceInit(first.child.pid as number);
      await first.exited;
      // The premise: the killed writer was PID 1, and its segment is still there.
      const [left] = segments(folder);
      expect(parseSegmentFileName(left as string)?.owner.pid).toBe(1);
      const second = await runParquetChild(['recover', folder], { wrapper: AS_PID_1 }).exited;
      expect(JSON.parse(second.stdout), second.stderr).toEqual({ flushError: null });
      expect(await count(folder)).toBe(300);
      expect(segments(folder)).toEqual([]);
    },
  );

  it('recovers the segment of a dead writer whose PID a live writer now has, told apart by the lease', async () => {
    const folder = tempFolder();
    const live = runParquetChild(['write-then-wait', folder, '50', 'live'], { stdin: 'pipe' });
    await live.printed('written');
    const dead = await runParquetChild(['write-then-crash', folder, '300', 'dead']).exited;
    expect(dead.signal).toBe('SIGKILL');
    // As if the dead writer had had the live one's PID: its segment names that PID with its own
    // token, and the lease of that PID is the live writer's (it replaced the dead one's).
    const livePid = live.child.pid as number;
    for (const name of segments(folder)) {
      const segment = parseSegmentFileName(name);
      if (!segment || segment.owner.pid === livePid) continue;
      rmSync(join(wal(folder), `.owner-${segment.owner.host}~${segment.owner.pid}`), { force: true });
      renameSync(
        join(wal(folder), name),
        join(wal(folder), segmentFileName({ ...segment, owner: { ...segment.owner, pid: livePid } })),
      );
    }
    expect(segments(folder).map((name) => parseSegmentFileName(name)?.owner.pid)).toEqual([livePid, livePid]);
    await openSink(folder).prepare();
    expect(await count(folder)).toBe(300);
    expect(segments(folder)).toHaveLength(1); // the live writer's own, left alone
    live.child.stdin?.end();
    expect((await live.exited).code).toBe(0);
    expect(await count(folder)).toBe(350);
  });
});

describe('segments left by a process of another host (a pod gone from shared storage)', () => {
  const pod = { host: 'another-pod', pid: 1, token: 'abcdef0123456789' };

  it('wait for `llamonitor recover`, which stores them', async () => {
    const folder = tempFolder();
    leaveSegment(folder, segmentOf([sampleRows(120, { seed: 'pod' })]), pod);
    const sink = openSink(folder);
    await sink.prepare();
    expect(sink.recoveryReport).toMatchObject({ segments: 0, leftToOtherHosts: 1 });
    await sink.close();
    const run = await runCli(['recover', '--url', folder]);
    expect(run.stdout, run.stderr).toMatch(/recovered 1 segment in .*: 120 rows stored in 1 Parquet file/);
    expect(run.code).toBe(0);
    expect(await count(folder)).toBe(120);
    expect(segments(folder)).toEqual([]);
    expect(readdirSync(wal(folder)).filter(isLeaseName)).toEqual([]);
  });

  it('are left alone by `llamonitor recover` while their lease is fresh (that pod still writes)', async () => {
    const folder = tempFolder();
    leaveSegment(folder, segmentOf([sampleRows(10, { seed: 'pod' })]), pod);
    writeFileSync(join(wal(folder), `.owner-${pod.host}~${pod.pid}`), `${pod.token}\n`);
    const run = await runCli(['recover', '--url', folder]);
    expect(run.stdout).toMatch(/recovered 0 segments/);
    expect(run.stdout).toMatch(/1 segment of other hosts whose lease is fresh/);
    expect(segments(folder)).toHaveLength(1);
  });

  it('`llamonitor recover --help` says what it does', async () => {
    const run = await runCli(['recover', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: llamonitor recover/);
    expect(run.stdout).toMatch(/write-ahead log .* other hosts/);
  });
});

describe('`llamonitor doctor`', () => {
  it('says which segments wait, how many rows, since when and whose', async () => {
    const folder = tempFolder();
    const live = runParquetChild(['write-then-wait', folder, '30', 'live'], { stdin: 'pipe' });
    await live.printed('written');
    leaveSegment(folder, segmentOf([sampleRows(120, { seed: 'pod' })]), {
      host: 'another-pod',
      pid: 7,
      token: 'abcdef0123456789',
    });
    const run = await runCli(['doctor', '--url', folder]);
    live.child.stdin?.end();
    await live.exited;
    const line = run.stdout.split('\n').find((text) => text.includes('write-ahead log'));
    expect(line, run.stdout).toMatch(
      new RegExp(
        `^\\[warn\\] write-ahead log: 2 segments with 150 rows waiting in .*_wal since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z; ` +
          `1 segment \\(30 rows\\) being written by running process ${live.child.pid}; ` +
          '1 segment \\(120 rows\\) of process 7 on host another-pod',
      ),
    );
    expect(segments(folder)).toHaveLength(1); // the other host's, still waiting
  });
});
