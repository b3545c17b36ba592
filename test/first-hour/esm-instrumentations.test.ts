/**
 * An ES module application (`import OpenAI from 'openai'`) under the register
 * entry, with each proven instrumentation set up as docs/setups.md says: its
 * calls are stored. `require` hooks never see `import`; the contrib
 * instrumentation is served by the loader hook the register entry registers,
 * OpenInference and OpenLLMetry (whose own copies of the hook machinery it
 * cannot serve) by their manual API, and the AI SDKs patch nothing.
 */
import { copyFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtModulePath } from '../support/built-package.js';
import { REPO, runNode } from '../support/child-process.js';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server.js';
import { makeAppFolder, type AppFolder } from './app-folder.js';
import { storedRows } from './stored-rows.js';

const CALLS = 2;
const REGISTER = ['--import', 'llamonitor-otel/register'];

let server: FakeLlmServer;
let folder: string;
let ai7App: AppFolder;
beforeAll(async () => {
  builtModulePath('register.js');
  server = await startFakeLlmServer();
  folder = await mkdtemp(join(tmpdir(), 'llamonitor-esm-'));
  // AI SDK 7 is installed in the workspace workspaces/ai7 (the root's `ai` is 6): an application of its own.
  const workspace = join(REPO, 'workspaces', 'ai7', 'node_modules');
  ai7App = makeAppFolder({
    replace: { ai: join(workspace, 'ai'), '@ai-sdk/openai': join(workspace, '@ai-sdk', 'openai') },
  });
  copyFileSync(join(REPO, 'test/first-hour/apps/ai-sdk-7-app.mjs'), join(ai7App.path, 'app.mjs'));
});
afterAll(async () => {
  await server.close();
  ai7App.remove();
  await rm(folder, { recursive: true, force: true });
});

async function runEsmApp(name: string, args: readonly string[], cwd = REPO) {
  const dataFolder = join(folder, name);
  const run = await runNode(
    args,
    {
      LLAMONITOR_URL: dataFolder,
      LLAMONITOR_SPILL_DIR: `${dataFolder}-spill`,
      OPENAI_BASE_URL: server.baseURL,
      OPENAI_API_KEY: 'sk-fake-llamonitor-test', // the fake server takes any
      APP_CALLS: String(CALLS),
    },
    45_000,
    cwd,
  );
  expect(run.stdout).toContain(`calls ended: ${CALLS}`);
  expect(run.code, run.stderr).toBe(0);
  return { run, rows: await storedRows(dataFolder) };
}

const CHAT_APP = 'test/first-hour/apps/chat-app.mjs';

describe('an ES module application under node --import llamonitor-otel/register', () => {
  it('with the contrib OpenAI instrumentation, registered as usual: the register entry’s loader hook lets it patch', async () => {
    const { run, rows } = await runEsmApp('contrib', [
      ...REGISTER,
      '--import',
      './examples/setups/instrumentation.mjs',
      CHAT_APP,
    ]);
    expect(run.stderr).toBe('');
    expect(rows.map((row) => [row.operation_name, row.scope])).toEqual(
      Array(CALLS).fill(['chat gpt-4o-mini', '@opentelemetry/instrumentation-openai']),
    );
  });

  it('with the contrib instrumentation registered in the file that imports openai, after the import', async () => {
    // The hook wraps LLM clients' modules from the start, so a client imported first can still be patched.
    const { run, rows } = await runEsmApp('contrib-after-import', [
      ...REGISTER,
      'test/first-hour/apps/chat-app-instrumented-after-import.mjs',
    ]);
    expect(run.stderr).toBe('');
    expect(rows.map((row) => row.scope)).toEqual(Array(CALLS).fill('@opentelemetry/instrumentation-openai'));
  });

  it('with OpenInference, given the module through manuallyInstrument', async () => {
    const { run, rows } = await runEsmApp('openinference', [
      ...REGISTER,
      '--import',
      './examples/setups/instrumentation-openinference.mjs',
      CHAT_APP,
    ]);
    expect(run.stderr).toBe('');
    expect(rows.map((row) => [row.operation_name, row.scope])).toEqual(
      Array(CALLS).fill(['OpenAI Chat Completions', '@arizeai/openinference-instrumentation-openai']),
    );
  });

  it('with OpenLLMetry, given the class through manuallyInstrument', async () => {
    const { run, rows } = await runEsmApp('openllmetry', [
      ...REGISTER,
      '--import',
      './examples/setups/instrumentation-openllmetry.mjs',
      CHAT_APP,
    ]);
    expect(run.stderr).toBe('');
    expect(rows.map((row) => [row.operation_name, row.scope])).toEqual(
      Array(CALLS).fill(['chat gpt-4o-mini', '@traceloop/instrumentation-openai']),
    );
  });

  it('with the Vercel AI SDK 6 and experimental_telemetry', async () => {
    const { run, rows } = await runEsmApp('ai-sdk-6', [...REGISTER, 'test/first-hour/apps/ai-sdk-6-app.mjs']);
    expect(run.stderr).toBe('');
    expect(rows.filter((row) => row.operation_name === 'ai.generateText')).toHaveLength(CALLS);
    expect(rows.filter((row) => row.operation_name === 'ai.generateText.doGenerate')).toHaveLength(CALLS);
  });

  it('with the Vercel AI SDK 7 and registerTelemetry(new OpenTelemetry())', async () => {
    const { run, rows } = await runEsmApp('ai-sdk-7', [...REGISTER, 'app.mjs'], ai7App.path);
    expect(run.stderr).toBe('');
    expect(rows.filter((row) => row.operation_name.startsWith('invoke_agent'))).toHaveLength(CALLS);
    expect(rows.filter((row) => row.operation_name.startsWith('chat'))).toHaveLength(CALLS);
  });

  it('with OpenInference registered but not given the module: no row, and a warning that says why', async () => {
    const { run, rows } = await runEsmApp('openinference-unpatched', [
      ...REGISTER,
      '--import',
      './test/first-hour/apps/openinference-require-only.mjs',
      CHAT_APP,
    ]);
    expect(rows).toEqual([]);
    expect(run.stderr).toMatch(/^llamonitor-otel: no span reached MetricEventsSpanProcessor before shutdown/);
    expect(run.stderr).toContain(
      'the application is an ES module and the instrumentation patches only require()',
    );
  });
});
