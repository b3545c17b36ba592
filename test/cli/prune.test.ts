/**
 * `llamonitor prune` and `llamonitor replay` with a retention, through the
 * built CLI, on a Parquet dataset and a spill folder an application left:
 * what each prints, what is left on disk (DuckDB counts the rows), and the
 * usage errors.
 */
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpillStore } from '../../src/spill/spill-store.js';
import { importBuilt } from '../support/built-package.js';
import { runCli } from '../support/child-process.js';
import { queryDataset } from '../support/parquet-readers.js';
import { sampleRowsAt } from '../support/sample-rows.js';

const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');

const DAY = 86_400_000;
const rowsAt = sampleRowsAt;
const dayOf = (millis: number) => new Date(millis).toISOString().slice(0, 10);

let dir: string;
const data = () => join(dir, 'data');
const spill = () => join(dir, 'spill');
const env = (extra: Record<string, string> = {}) => ({
  LLAMONITOR_URL: data(),
  LLAMONITOR_SPILL_DIR: spill(),
  ...extra,
});
const stored = async () =>
  Number((await queryDataset(join(data(), 'metric_events'), 'SELECT count(*) AS n FROM {dataset}'))[0]!.n);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llamonitor-prune-cli-'));
  const sink = await createSink(resolveOptions({ url: data() }));
  await sink.write([
    ...rowsAt('old', 12, Date.now() - 45 * DAY),
    ...rowsAt('month', 8, Date.now() - 20 * DAY),
    ...rowsAt('today', 5, Date.now() - 60_000),
  ]);
  await sink.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('llamonitor prune', () => {
  it('--dry-run says which rows and day folders would go, and removes nothing', async () => {
    const run = await runCli(['prune', '--older-than', '30d', '--dry-run'], env());
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(
      /^\[ok\] {3}would remove 12 rows older than \S+Z from parquet .+ \(dry run: nothing removed\)$/m,
    );
    expect(run.stdout).toContain(`day folders to remove: date=${dayOf(Date.now() - 45 * DAY)}\n`);
    expect(await stored()).toBe(25);
  });

  it('removes them, then finds nothing; LLAMONITOR_RETENTION_DAYS stands for --older-than', async () => {
    const run = await runCli(['prune'], env({ LLAMONITOR_RETENTION_DAYS: '30' }));
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^\[ok\] {3}removed 12 rows older than /m);
    expect(await stored()).toBe(13);
    const again = await runCli(['prune', '--older-than', '30d'], env());
    expect(again.stdout).toMatch(/^\[ok\] {3}removed 0 rows older than /m);
  });

  it('refuses, with exit code 2, no limit at all, a limit that is no time, and one in the future', async () => {
    expect(await runCli(['prune'], env())).toMatchObject({
      code: 2,
      stdout: 'llamonitor prune needs --older-than (30d, 2w, 2026-01-01) or LLAMONITOR_RETENTION_DAYS\n',
    });
    expect(await runCli(['prune', '--older-than', 'a month'], env())).toMatchObject({
      code: 2,
      stdout:
        'llamonitor prune: --older-than a month is not a duration (30d, 12h, 2w) or an ISO 8601 day or time\n',
    });
    const future = await runCli(['prune', '--older-than', '2999-01-01'], env());
    expect(future.code).toBe(2);
    expect(future.stdout).toMatch(/is in the future .*: it would remove every row/);
    expect(await stored()).toBe(13);
  });

  it('says the lease is held, with exit code 1, while another maintenance run works on the dataset', async () => {
    const { writeFile } = await import('node:fs/promises');
    const lease = join(data(), 'metric_events', '_maintenance.lease');
    await writeFile(lease, 'another-run');
    try {
      const run = await runCli(['prune', '--older-than', '1d'], env());
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(
        /^\[fail\] prune: another maintenance run \(llamonitor reprice, prune or compact\) is working on /m,
      );
    } finally {
      await rm(lease, { force: true });
    }
  });
});

describe('llamonitor replay with a retention', () => {
  it('replays a spill file with recent rows and sets aside one whose rows are all older, with the reason', async () => {
    const store = new SpillStore(spill(), 1 << 30);
    const destination = { table: 'metric_events' };
    const expired = await store.store(rowsAt('spilled-old', 4, Date.now() - 60 * DAY), destination, 'x');
    const recent = await store.store(rowsAt('spilled-new', 3, Date.now() - 2 * DAY), destination, 'x');
    const before = await stored();

    const run = await runCli(['replay'], env({ LLAMONITOR_RETENTION_DAYS: '30' }));
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain(`replayed 3 rows from 1 files in ${spill()} into parquet`);
    expect(run.stdout).toContain(
      `set 1 files aside in ${spill()}/set-aside whose rows are all older than LLAMONITOR_RETENTION_DAYS=30`,
    );
    expect(await stored()).toBe(before + 3);
    expect((await readdir(join(spill(), 'set-aside'))).sort()).toEqual([expired, `${expired}.reason.txt`]);
    expect(await readFile(join(spill(), 'set-aside', `${expired}.reason.txt`), 'utf8')).toMatch(
      /^its 4 rows are all older than the retention \(before \S+Z, LLAMONITOR_RETENTION_DAYS\): not replayed/,
    );
    expect(await readdir(spill())).not.toContain(recent);
  });
});
