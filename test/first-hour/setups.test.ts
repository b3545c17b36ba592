/**
 * Every setup the README shows (the files in examples/setups/, shown there
 * verbatim) stores every call of an ES module application that uses the
 * `openai` client with the contrib OpenAI instrumentation, however the
 * application ends: on its own, on Ctrl-C (SIGINT), on SIGTERM; and the
 * process then ends, by the signal as it would have without any setup.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtModulePath } from '../support/built-package.js';
import { REPO, type Finished } from '../support/child-process.js';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server.js';
import { BOUND_MILLIS, startBoundedApp, waitForOutput } from './child-app.js';
import { storedRows } from './stored-rows.js';

const SETUPS: Readonly<Record<string, readonly string[]>> = {
  'the register entry': [
    '--import',
    'llamonitor-otel/register',
    '--import',
    './examples/setups/instrumentation.mjs',
  ],
  'a NodeTracerProvider with MetricEventsSpanProcessor': [
    '--import',
    './examples/setups/node-tracer-provider.mjs',
  ],
  'NodeSDK with MetricEventsSpanProcessor': ['--import', './examples/setups/node-sdk.mjs'],
  'the exporter in a BatchSpanProcessor': ['--import', './examples/setups/batch-span-processor.mjs'],
};

/** How the application ends: by itself, or by a signal once its calls have ended. */
const ENDINGS = { 'by itself': undefined, 'on SIGINT': 'SIGINT', 'on SIGTERM': 'SIGTERM' } as const;
type Ending = (typeof ENDINGS)[keyof typeof ENDINGS];
const CALLS = 3;

let server: FakeLlmServer;
let folder: string;
beforeAll(async () => {
  builtModulePath('index.js'); // the setups import the built package
  server = await startFakeLlmServer();
  folder = await mkdtemp(join(tmpdir(), 'llamonitor-setups-'));
});
afterAll(async () => {
  await server.close();
  await rm(folder, { recursive: true, force: true });
});

/** Runs the chat app under `setup`, sends `signal` once its calls have ended; resolves once the process has ended. */
async function runApp(setup: readonly string[], signal: Ending, dataFolder: string): Promise<Finished> {
  const app = startBoundedApp([...setup, 'test/first-hour/apps/chat-app.mjs'], {
    LLAMONITOR_URL: dataFolder,
    LLAMONITOR_SPILL_DIR: `${dataFolder}-spill`,
    OPENAI_BASE_URL: server.baseURL,
    OPENAI_API_KEY: 'sk-fake-llamonitor-test', // the fake server takes any
    APP_CALLS: String(CALLS),
    APP_STAY: signal === undefined ? '0' : '1',
  });
  if (signal !== undefined) {
    await waitForOutput(app, `calls ended: ${CALLS}`);
    app.child.kill(signal);
  }
  const run = await app.finished;
  expect(app.killedByBound(), `the process did not end within ${BOUND_MILLIS} ms: ${run.stderr}`).toBe(false);
  return run;
}

describe('docs/setups.md', () => {
  it('shows each file of examples/setups/ as it is', () => {
    const doc = readFileSync(join(REPO, 'docs', 'setups.md'), 'utf8');
    for (const file of readdirSync(join(REPO, 'examples', 'setups'))) {
      const source = readFileSync(join(REPO, 'examples', 'setups', file), 'utf8');
      expect(doc, file).toContain(`\`\`\`js\n${source}\`\`\``);
    }
  });
});

describe.each(Object.entries(SETUPS))('%s', (name, setup) => {
  it.each(Object.entries(ENDINGS))(
    'stores every call when the application ends %s',
    async (ending, signal) => {
      const dataFolder = join(folder, `${name} ${ending}`.replaceAll(/\W+/g, '-'));
      const requestsBefore = server.requests.length;
      const run = await runApp(setup, signal, dataFolder);
      expect(run.stdout).toContain(`calls ended: ${CALLS}`);
      expect(server.requests.length - requestsBefore).toBe(CALLS);
      if (signal === undefined) expect(run.code, run.stderr).toBe(0);
      else expect(run.signal, run.stderr).toBe(signal);
      expect(run.stderr).toBe('');
      const rows = await storedRows(dataFolder);
      expect(rows.map((row) => row.operation_name)).toEqual(Array(CALLS).fill('chat gpt-4o-mini'));
    },
  );
});
