/**
 * The spill store touches only what it wrote. A spill folder pointed at an
 * application's own folder (`spillDir: '.'`) keeps every file and folder of
 * the application where and as it was, through the exporter's background
 * replay and through `llamonitor replay`, while the spill file in it is replayed.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { fitRow } from '../../src/schema/fit-row.js';
import { isLeaseName } from '../../src/sinks/process-owner.js';
import { SpillStore } from '../../src/spill/spill-store.js';
import { runCli } from '../support/child-process.js';
import { MemorySink } from '../support/memory-sink.js';
import { sampleRows } from '../support/sample-rows.js';

let root: string;
let app: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'llamonitor-foreign-'));
  app = join(root, 'app');
  await mkdir(join(app, 'node_modules', 'left-pad'), { recursive: true });
  await writeFile(join(app, 'package.json'), '{"name":"app","type":"module"}\n');
  await writeFile(join(app, 'app.mjs'), "import 'llamonitor-otel/register';\n");
  await writeFile(join(app, 'node_modules', 'left-pad', 'index.js'), 'export default (s) => s;\n');
  // Names close to the store's own: an editor's temporary file, a backup, notes.
  await writeFile(join(app, '.tmp-1-swap'), 'an editor was here');
  await writeFile(join(app, 'spill-notes.txt'), 'notes');
  const lookalike = 'spill-1700000000000-1-00000000-0000-4000-8000-000000000001.ndjson';
  await writeFile(join(app, `${lookalike}.bak`), 'a backup');
  await writeFile(join(root, 'outside.txt'), 'not in the spill folder');
  // A link named exactly like a spill file: it is not a file the store wrote.
  await symlink(join(root, 'outside.txt'), join(app, lookalike.replace('000000000001', '000000000002')));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every entry under `folder` (the spill store's own entries too, once it is done: none), links not followed: its type, mode, size, mtime and a hash of its contents. */
async function snapshot(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const relative = path.slice(folder.length + 1);
    const stats = await lstat(path);
    const contents = entry.isFile()
      ? createHash('sha256')
          .update(await readFile(path))
          .digest('hex')
      : '';
    out[relative] = `${stats.mode.toString(8)} ${stats.size} ${stats.mtimeMs} ${contents}`;
  }
  return out;
}

/** A file the spill store itself writes while it replays (regular files only): a spill file, a claim, a lease. */
const isOwnEntry = (name: string) => /^spill-\d{13}-.*\.ndjson(\.claim-.*)?$/.test(name) || isLeaseName(name);

const row = (i: number) => fitRow({ ...sampleRows(1, i)[0] });

describe('a spill folder that holds an application’s files', () => {
  it('keeps every file and folder it did not write through a background replay pass', async () => {
    const before = await snapshot(app);
    const spilled = await new SpillStore(app, 1 << 30).store(
      [row(1), row(2)],
      { table: 'metric_events' },
      'x',
    );
    const sink = new MemorySink();
    const exporter = MetricEventsSpanExporter.withSink(sink, { spillDir: app }, { replayIntervalMillis: 10 });
    try {
      await exporter.ready(); // wakes the background replay
      // Done means the rows stored and the store's own entries gone: the file, its claim, its lease.
      const done = async () =>
        sink.rows.length >= 2 &&
        !(await readdir(app, { withFileTypes: true })).some((e) => e.isFile() && isOwnEntry(e.name));
      for (let waited = 0; !(await done()); waited += 20) {
        if (waited > 10_000)
          throw new Error('the background replay did not replay the spill file and release it within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await exporter.shutdown();
    }
    expect(await snapshot(app)).toEqual(before);
    expect(spilled).toMatch(/^spill-/);
  });

  it('keeps every file and folder it did not write through `llamonitor replay`', async () => {
    const before = await snapshot(app);
    await new SpillStore(app, 1 << 30).store([row(3)], { table: 'metric_events' }, 'x');
    const run = await runCli(['replay', '--url', join(root, 'restored'), '--spill-dir', app]);
    expect(run.stdout).toMatch(/replayed 1 rows from 1 files/);
    expect(run.code).toBe(0);
    expect(await snapshot(app)).toEqual(before);
  });
});
