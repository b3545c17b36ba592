/**
 * A claim (a spill file renamed while a replay holds it) names its process by
 * host, PID and token, and the claimant keeps a lease in the folder. A claim
 * whose process is gone is released and replayed: a process killed with
 * SIGKILL, a process that had this very PID before (in a container the
 * application is PID 1 at every start), a PID now someone else's. Claims of
 * another host's processes are left alone unless asked for.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Replayer } from '../../src/export/replayer.js';
import { LEASE_STALE_MILLIS, thisProcess } from '../../src/sinks/process-owner.js';
import { SpillStore } from '../../src/spill/spill-store.js';
import { REPO } from '../support/child-process.js';
import { MemorySink } from '../support/memory-sink.js';
import { sampleRows } from '../support/sample-rows.js';

const CHILD = fileURLToPath(new URL('./claim-child.ts', import.meta.url));
const destination = { table: 'metric_events' };

let dir: string;
let store: SpillStore;
let spilled: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llamonitor-claims-'));
  store = new SpillStore(dir, 1 << 30);
  spilled = await store.store(sampleRows(3), destination, 'database down');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Renames the spill file to a claim held by `owner` (as that process's claim() would). */
async function claimAs(owner: string): Promise<string> {
  const claim = `${spilled}.claim-${owner}`;
  await rename(join(dir, spilled), join(dir, claim));
  return claim;
}

async function writeLease(host: string, pid: number, token: string, modifiedMillis = Date.now()) {
  const path = join(dir, `.owner-${host}~${pid}`);
  await writeFile(path, `${token}\n`);
  await utimes(path, modifiedMillis / 1000, modifiedMillis / 1000);
}

interface Started {
  readonly firstLine: Promise<string>;
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

/** Starts `command args`; `firstLine` resolves with its first line of output, or rejects after 30 s saying so. */
function start(command: string, args: readonly string[]): Started {
  const child = spawn(command, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  const firstLine = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} printed no line within 30 s; stderr: ${stderr}`));
    }, 30_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('\n')) {
        clearTimeout(timer);
        resolve(stdout.slice(0, stdout.indexOf('\n')));
      }
    });
    void closed.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before printing a line; stderr: ${stderr}`));
    });
  });
  return { firstLine, closed, kill: () => child.kill('SIGKILL') };
}

const nodeChild = (mode: string) => ['--import', 'tsx', CHILD, mode, dir];

describe('claims of processes that are gone are released and replayed', () => {
  it('a claim left by a process killed with SIGKILL while it held it', async () => {
    const child = start(process.execPath, nodeChild('claim'));
    const { pid, claimed } = JSON.parse(await child.firstLine) as { pid: number; claimed: string[] };
    expect(claimed).toEqual([spilled]);
    const { host } = thisProcess();
    const names = await readdir(dir);
    expect(names).toContainEqual(
      expect.stringMatching(new RegExp(`^${spilled}\\.claim-${host}~${pid}~[0-9a-f]+$`)),
    );
    expect(names).toContain(`.owner-${host}~${pid}`);
    // While its process lives, the claim is its own.
    expect(await store.list()).toEqual([]);
    child.kill();
    expect((await child.closed).signal).toBe('SIGKILL');
    const sink = new MemorySink();
    const report = await new Replayer(store, {
      destination,
      write: (rows) => sink.write(rows),
      checkHealth: () => sink.checkHealth(),
      timeoutMillis: 10_000,
    }).replayOnce();
    expect(report).toMatchObject({ files: 1, rows: 3 });
    expect(sink.rows).toHaveLength(3);
  });

  it('a claim naming this host and this PID with another token: an earlier process that had this PID', async () => {
    const { host, pid } = thisProcess();
    await claimAs(`${host}~${pid}~0123456789abcdef`);
    expect(await store.list()).toEqual([spilled]);
  });

  it('a claim naming only this PID, as a release before process tokens wrote it', async () => {
    await claimAs(String(process.pid));
    expect(await store.list()).toEqual([spilled]);
  });

  it('a claim of a running PID whose lease holds another token: the PID is someone else’s now', async () => {
    const { host } = thisProcess();
    await claimAs(`${host}~${process.ppid}~aaaaaaaaaaaaaaaa`);
    await writeLease(host, process.ppid, 'bbbbbbbbbbbbbbbb');
    expect(await store.list()).toEqual([spilled]);
  });

  it('a claim of a running PID whose lease holds its token but is stale', async () => {
    const { host } = thisProcess();
    await claimAs(`${host}~${process.ppid}~aaaaaaaaaaaaaaaa`);
    await writeLease(host, process.ppid, 'aaaaaaaaaaaaaaaa', Date.now() - 2 * LEASE_STALE_MILLIS);
    expect(await store.list()).toEqual([spilled]);
  });

  it('keeps a claim of a running PID whose lease holds its token and is fresh', async () => {
    const { host } = thisProcess();
    const claim = await claimAs(`${host}~${process.ppid}~aaaaaaaaaaaaaaaa`);
    await writeLease(host, process.ppid, 'aaaaaaaaaaaaaaaa');
    expect(await store.list()).toEqual([]);
    expect(await readdir(dir)).toContain(claim);
  });
});

describe('claims of another host’s processes', () => {
  const owner = 'other-host~4242~cccccccccccccccc';

  it('are left alone by default: this host cannot tell whether their process runs', async () => {
    const claim = await claimAs(owner);
    expect(await store.list()).toEqual([]);
    expect(await readdir(dir)).toContain(claim);
  });

  it('are taken when asked (llamonitor replay) once their lease is gone or stale', async () => {
    await claimAs(owner);
    await writeLease('other-host', 4242, 'cccccccccccccccc', Date.now() - 2 * LEASE_STALE_MILLIS);
    expect(await new SpillStore(dir, 1 << 30, { otherHosts: true }).list()).toEqual([spilled]);
  });

  it('are kept, even when asked, while their lease is fresh', async () => {
    await claimAs(owner);
    await writeLease('other-host', 4242, 'cccccccccccccccc');
    expect(await new SpillStore(dir, 1 << 30, { otherHosts: true }).list()).toEqual([]);
  });
});

/** Why a PID namespace cannot be made here; undefined when it can. */
async function whyUnshareIsRefused(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('unshare', [
      '-p',
      '-f',
      '--mount-proc',
      'sh',
      '-c',
      'echo $$',
    ]);
    return stdout.trim() === '1' ? undefined : `unshare gave PID ${stdout.trim()}, not 1`;
  } catch (error) {
    return `unshare -p -f --mount-proc is not permitted here (${(error as Error).message.split('\n')[0]})`;
  }
}
const unshareRefusal = await whyUnshareIsRefused();
if (unshareRefusal !== undefined) console.warn(`skipping the PID 1 claim test: ${unshareRefusal}`);

describe.skipIf(unshareRefusal !== undefined)('in a PID namespace, as in a container', () => {
  it('a PID 1 replay killed while it held a claim: the next PID 1 process replays the file', async () => {
    const first = start('unshare', [
      '--kill-child',
      '-p',
      '-f',
      '--mount-proc',
      process.execPath,
      ...nodeChild('claim'),
    ]);
    const claimed = JSON.parse(await first.firstLine) as { pid: number; claimed: string[] };
    expect(claimed).toEqual({ pid: 1, claimed: [spilled] });
    first.kill(); // unshare dies, and the kernel kills its PID 1 with it (--kill-child)
    await first.closed;
    expect(await readdir(dir)).toContainEqual(expect.stringMatching(new RegExp(`^${spilled}\\.claim-`)));

    const second = start('unshare', ['-p', '-f', '--mount-proc', process.execPath, ...nodeChild('replay')]);
    const replayed = JSON.parse(await second.firstLine) as { pid: number; files: number; rows: number };
    expect((await second.closed).code).toBe(0);
    expect(replayed).toEqual({ pid: 1, files: 1, rows: 3 });
    expect((await readdir(dir)).filter((n) => n.includes('spill-'))).toEqual([]);
  });
});
