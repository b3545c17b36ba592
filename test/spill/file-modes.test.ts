/**
 * What the spill store writes is private by default (files 0600, the folders
 * it creates 0700), or readable by the group with `fileMode: 'group'` (0640,
 * 0750), exactly, whatever the umask; a folder that already existed keeps its
 * mode. Tested under a permissive umask, where a plain write gives 0644/0755.
 */
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { SpillStore } from '../../src/spill/spill-store.js';
import { MemorySink } from '../support/memory-sink.js';
import { sampleRows } from '../support/sample-rows.js';
import { finishedSpans } from '../support/spans.js';

const destination = { table: 'metric_events' };

let root: string;
let umaskBefore: number;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'llamonitor-modes-'));
  umaskBefore = process.umask(0o022);
});
afterEach(async () => {
  process.umask(umaskBefore);
  await rm(root, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** Stores a spill, claims it (its lease then exists) and sets it aside: every kind of entry the store makes. */
async function everyEntry(store: SpillStore) {
  const name = await store.store(sampleRows(2), destination, 'database down');
  const spill = await modeOf(join(store.directory, name));
  const claimed = await store.claim(name);
  const lease = (await readdir(store.directory)).find((n) => n.startsWith('.owner-')) as string;
  const leaseMode = await modeOf(join(store.directory, lease));
  await store.setAside(name, 'a test', claimed!.path);
  const setAside = join(store.directory, 'set-aside');
  return {
    spill,
    lease: leaseMode,
    setAsideFolder: await modeOf(setAside),
    setAsideFile: await modeOf(join(setAside, name)),
    reason: await modeOf(join(setAside, `${name}.reason.txt`)),
  };
}

describe('modes of what the spill store writes', () => {
  it('private by default: the folders it creates 0700, its files 0600', async () => {
    const spillDir = join(root, 'made', 'here', 'spill');
    const entries = await everyEntry(new SpillStore(spillDir, 1 << 30));
    expect(entries).toEqual({
      spill: 0o600,
      lease: 0o600,
      setAsideFolder: 0o700,
      setAsideFile: 0o600,
      reason: 0o600,
    });
    expect(
      await Promise.all(['made', 'made/here', 'made/here/spill'].map((p) => modeOf(join(root, p)))),
    ).toEqual([0o700, 0o700, 0o700]);
  });

  it('group: the folders it creates 0750, its files 0640', async () => {
    const spillDir = join(root, 'made', 'spill');
    const entries = await everyEntry(new SpillStore(spillDir, 1 << 30, { fileMode: 'group' }));
    expect(entries).toEqual({
      spill: 0o640,
      lease: 0o640,
      setAsideFolder: 0o750,
      setAsideFile: 0o640,
      reason: 0o640,
    });
    expect(await modeOf(spillDir)).toBe(0o750);
  });

  it('sets the modes exactly under a umask that would take the group’s read away', async () => {
    process.umask(0o077);
    const spillDir = join(root, 'spill');
    const name = await new SpillStore(spillDir, 1 << 30, { fileMode: 'group' }).store(
      sampleRows(1),
      destination,
      'x',
    );
    expect([await modeOf(spillDir), await modeOf(join(spillDir, name))]).toEqual([0o750, 0o640]);
  });

  it('leaves the mode of a spill folder that already existed as it was', async () => {
    const spillDir = join(root, 'existing');
    await mkdir(spillDir, { mode: 0o755 });
    await new SpillStore(spillDir, 1 << 30).store(sampleRows(1), destination, 'x');
    expect(await modeOf(spillDir)).toBe(0o755);
  });

  it('the exporter spills with the fileMode it was given', async () => {
    const spillDir = join(root, 'exporter-spill');
    const sink = new MemorySink();
    sink.failuresLeft = Infinity;
    const exporter = MetricEventsSpanExporter.withSink(sink, {
      spillDir,
      fileMode: 'group',
      exportTimeoutMillis: 200,
      warnings: false,
    });
    const result = await new Promise<ExportResult>((resolve) => exporter.export(finishedSpans(3), resolve));
    await exporter.shutdown();
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    const spilled = (await readdir(spillDir)).filter((n) => n.startsWith('spill-'));
    expect(spilled).toHaveLength(1);
    expect([await modeOf(spillDir), await modeOf(join(spillDir, spilled[0] as string))]).toEqual([
      0o750, 0o640,
    ]);
  });
});
