import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeadLetterStore } from '../../src/spill/dead-letter.js';
import { sampleRows } from '../support/sample-rows.js';

let spillDir: string;
beforeEach(async () => {
  spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-dead-letter-'));
});
afterEach(async () => {
  await rm(spillDir, { recursive: true, force: true });
});

const refusedRows = (count: number, from = 0, error = 'value refused (test)') =>
  sampleRows(count, from).map((row) => ({ row, error, code: '23514' }));

describe('the dead-letter folder', () => {
  it('keeps each refused row with its error and code, under a header naming table, source and first error', async () => {
    const store = new DeadLetterStore(spillDir);
    const refused = refusedRows(2);
    const name = await store.store(refused, { table: 'metric_events', schema: 'obs' }, 'spill-1.ndjson');
    expect(name).toMatch(/^dead-\d{13}-\d+-[0-9a-f-]{36}\.ndjson$/);
    const [header, ...lines] = (await readFile(join(spillDir, 'dead-letter', name), 'utf8'))
      .trim()
      .split('\n');
    expect(JSON.parse(header as string)).toMatchObject({
      format: 'llamonitor-dead-letter/1',
      table: 'metric_events',
      schema: 'obs',
      rows: 2,
      source: 'spill-1.ndjson',
      firstError: 'value refused (test)',
    });
    const parsed = lines.map(
      (line) => JSON.parse(line) as { error: string; code: string; row: { event_id: string } },
    );
    expect(parsed.map((l) => [l.error, l.code, l.row.event_id])).toEqual(
      refused.map((r) => ['value refused (test)', '23514', r.row.event_id]),
    );
  });

  it('sums files and rows and gives the oldest first error', async () => {
    const store = new DeadLetterStore(spillDir);
    expect(await store.summary()).toEqual({ files: 0, rows: 0, firstError: undefined });
    await store.store(refusedRows(2, 0, 'first'), { table: 't' }, 'export');
    await new Promise((resolve) => setTimeout(resolve, 2)); // names sort by their millisecond
    await store.store(refusedRows(3, 2, 'second'), { table: 't' }, 'export');
    expect(await store.summary()).toEqual({ files: 2, rows: 5, firstError: 'first' });
  });

  it('writes files 0600 in a 0700 folder by default, and 0640 in 0750 with fileMode group', async () => {
    const privateName = await new DeadLetterStore(spillDir).store(refusedRows(1), { table: 't' }, 'export');
    const folder = join(spillDir, 'dead-letter');
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect((await stat(join(folder, privateName))).mode & 0o777).toBe(0o600);
    const groupSpill = join(spillDir, 'group-readable');
    const groupName = await new DeadLetterStore(groupSpill, 'group').store(
      refusedRows(1),
      { table: 't' },
      'export',
    );
    const groupFolder = join(groupSpill, 'dead-letter');
    expect((await stat(groupFolder)).mode & 0o777).toBe(0o750);
    expect((await stat(join(groupFolder, groupName))).mode & 0o777).toBe(0o640);
  });

  it('stays under its cap by removing the oldest files, never the one just written', async () => {
    const store = new DeadLetterStore(spillDir, 'private', 20_000);
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      names.push(await store.store(refusedRows(4, i * 4), { table: 't' }, 'export'));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const left = (await readdir(join(spillDir, 'dead-letter'))).sort();
    const sizes = await Promise.all(
      left.map(async (n) => (await stat(join(spillDir, 'dead-letter', n))).size),
    );
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(20_000);
    expect(left).toEqual(names.slice(names.length - left.length));
    expect(left.length).toBeGreaterThan(0);
    const oversized = new DeadLetterStore(spillDir, 'private', 100);
    const last = await oversized.store(refusedRows(4, 100), { table: 't' }, 'export');
    expect(await readdir(join(spillDir, 'dead-letter'))).toEqual([last]);
  });

  it('removes a temporary file a dead writer left an hour ago, and leaves a recent one and foreign files alone', async () => {
    const store = new DeadLetterStore(spillDir);
    await store.store(refusedRows(1), { table: 't' }, 'export');
    const folder = join(spillDir, 'dead-letter');
    const name = (suffix: string) => `.tmp-dead-1700000000000-1-${suffix}-0000-0000-0000-000000000000.ndjson`;
    const abandoned = name('aaaaaaaa');
    const recent = name('bbbbbbbb');
    await writeFile(join(folder, abandoned), 'half');
    await writeFile(join(folder, recent), 'half');
    await writeFile(join(folder, 'notes.txt'), 'mine');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(folder, abandoned), twoHoursAgo, twoHoursAgo);
    expect((await store.summary()).files).toBe(1);
    const left = await readdir(folder);
    expect(left).not.toContain(abandoned);
    expect(left).toEqual(expect.arrayContaining([recent, 'notes.txt']));
  });
});
