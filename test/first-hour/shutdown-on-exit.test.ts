/**
 * shutdownOnExit(provider) in a real process: the endings docs/setups.md
 * promises. The setups test covers the normal end, SIGINT and SIGTERM; this
 * covers a second Ctrl-C, an application's own signal listener, and the two
 * endings that pass no hook (process.exit(), an uncaught exception) handled
 * as the documentation shows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtModulePath } from '../support/built-package.js';
import { runNode } from '../support/child-process.js';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server.js';
import { BOUND_MILLIS, startBoundedApp, waitForOutput, type BoundedApp } from './child-app.js';
import { storedRows } from './stored-rows.js';

let server: FakeLlmServer;
let folder: string;
beforeAll(async () => {
  builtModulePath('index.js');
  server = await startFakeLlmServer();
  folder = await mkdtemp(join(tmpdir(), 'llamonitor-exit-'));
});
afterAll(async () => {
  await server.close();
  await rm(folder, { recursive: true, force: true });
});

function startSignalApp(env: Record<string, string>): BoundedApp {
  return startBoundedApp(['test/first-hour/apps/signal-listeners-app.mjs'], env);
}

describe('shutdownOnExit', () => {
  it('ends the process at a second Ctrl-C while the shutdown still runs', async () => {
    const app = startSignalApp({ APP_SHUTDOWN: 'hang' });
    await waitForOutput(app, 'ready');
    app.child.kill('SIGINT');
    await waitForOutput(app, 'shutdown began');
    app.child.kill('SIGINT');
    const run = await app.finished;
    expect(run.signal).toBe('SIGINT');
    expect(run.stdout.match(/shutdown began/g)).toHaveLength(1);
  });

  it('leaves the ending to an application that listens for the signal itself', async () => {
    const app = startSignalApp({ APP_SHUTDOWN: 'quick', APP_OWN_SIGTERM: '1' });
    await waitForOutput(app, 'ready');
    app.child.kill('SIGTERM');
    const run = await app.finished;
    expect(run.signal).toBeNull();
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/shutdown began\nshutdown ended\nthe application exits by itself\n$/);
  });

  it.each([
    ['awaits shutdown() before process.exit()', 'exit'],
    ['handles an uncaught exception as docs/setups.md shows', 'throw'],
  ])('stores every call when the application %s', async (_what, end) => {
    const dataFolder = join(folder, end);
    const run = await runNode(
      ['test/first-hour/apps/exit-paths-app.mjs'],
      {
        LLAMONITOR_URL: dataFolder,
        LLAMONITOR_SPILL_DIR: `${dataFolder}-spill`,
        OPENAI_BASE_URL: server.baseURL,
        OPENAI_API_KEY: 'sk-fake-llamonitor-test',
        APP_CALLS: '3',
        APP_END: end,
      },
      BOUND_MILLIS,
    );
    expect(run.stdout).toContain('calls ended: 3');
    expect(run.code).toBe(1);
    expect((await storedRows(dataFolder)).map((row) => row.operation_name)).toEqual(
      Array(3).fill('chat gpt-4o-mini'),
    );
  });
});
