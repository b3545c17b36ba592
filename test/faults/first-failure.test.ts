/**
 * A new user's first mistake, in an application set up in code (no register
 * entry, no diag logger): a wrong port, a database that does not exist. The
 * process says so once on stderr, naming the cause and where the rows went,
 * exits by itself, and the rows are in the spill.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpillStore } from '../../src/spill/spill-store.js';
import { builtModulePath } from '../support/built-package.js';
import { runNode } from '../support/child-process.js';
import { faultDatabases, tempSpillDir, type FaultDatabase } from './fault-support.js';

const databases = await faultDatabases();
const CHILD = 'test/faults/first-failure-child.mjs';

/** A port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Span ids of every row in the spill folder. */
async function spilledSpanIds(dir: string): Promise<string[]> {
  const store = new SpillStore(dir, Number.MAX_SAFE_INTEGER);
  const ids: string[] = [];
  for (const name of await store.list()) {
    const claimed = await store.claim(name);
    if (!claimed) continue;
    ids.push(...(await store.read(claimed)).rows.map((r) => r.span_id));
    await store.release(claimed);
  }
  return ids;
}

const MISTAKES = [
  {
    mistake: 'a wrong port',
    url: async (database: FaultDatabase) => {
      const url = new URL(database.url);
      url.port = String(await closedPort());
      return url.toString();
    },
    cause: /ECONNREFUSED/,
  },
  {
    mistake: 'a database that does not exist',
    url: async (database: FaultDatabase) => {
      const url = new URL(database.url);
      url.pathname = `/llamonitor_missing_${randomBytes(4).toString('hex')}`;
      return url.toString();
    },
    cause: /does not exist/,
  },
] as const;

describe.runIf(databases.length > 0).each(databases)('a code setup writing to $name', (database) => {
  let spill: Awaited<ReturnType<typeof tempSpillDir>>;
  beforeEach(async () => {
    builtModulePath('index.js'); // the child imports the built package
    spill = await tempSpillDir();
  });
  afterEach(() => spill.remove());

  it.each(MISTAKES)(
    'with $mistake warns once on stderr, naming the cause and the spill, exits, and spills every row',
    async ({ url, cause }) => {
      const run = await runNode(
        [CHILD],
        { LLAMONITOR_URL: await url(database), LLAMONITOR_SPILL_DIR: spill.dir },
        30_000,
      );

      expect(run.signal, `the child did not exit by itself within 30 s; stderr: ${run.stderr}`).toBeNull();
      expect(run.code).toBe(0);
      const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^llamonitor-otel: /);
      expect(lines[0]).toMatch(cause);
      expect(lines[0]).toContain(spill.dir);
      const ended = run.stdout.split('\n').filter((line) => /^[0-9a-f]{16}$/.test(line));
      expect(ended).toHaveLength(5);
      expect((await spilledSpanIds(spill.dir)).sort()).toEqual(ended.sort());
    },
  );

  it('under the register entry, with a database that does not exist, says it once, at start-up, and spills every row', async () => {
    const missing = await MISTAKES[1].url(database);
    const run = await runNode(
      ['--import', 'llamonitor-otel/register', 'test/fixtures/apps/llm-app.mjs'],
      { LLAMONITOR_URL: missing, LLAMONITOR_SPILL_DIR: spill.dir, APP_SPANS: '4' },
      30_000,
    );

    expect(run.signal, `the child did not exit by itself within 30 s; stderr: ${run.stderr}`).toBeNull();
    expect(run.code).toBe(0);
    const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/does not exist/);
    expect(lines[0]).toContain(spill.dir);
    expect(await spilledSpanIds(spill.dir)).toHaveLength(4);
  });
});
