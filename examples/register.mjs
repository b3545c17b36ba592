// npm run example:register
//
// The one-line setup: an application with no llamonitor-otel code in it (examples/register/app.cjs),
// started with `node --import llamonitor-otel/register`, which builds the tracer provider from
// LLAMONITOR_* and OTEL_* variables and flushes it when the process exits. Its OpenAI calls are
// instrumented by OpenInference and go to a fake OpenAI server on 127.0.0.1 that this script starts.
// Rows go to Parquet files in ./llamonitor-data (or LLAMONITOR_URL) and are printed back.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAKE_API_KEY, startFakeLlmServer } from './support/fake-llm-server.mjs';
import { exampleDestination, exampleServiceName, showStoredRows } from './support/stored-rows.mjs';

const repository = fileURLToPath(new URL('..', import.meta.url));
const destination = exampleDestination();
const serviceName = exampleServiceName('register');
const server = await startFakeLlmServer();

const args = [
  '--import',
  'llamonitor-otel/register',
  '--import',
  './examples/register/instrumentation.mjs',
  'examples/register/app.cjs',
];
const env = {
  ...process.env,
  // A folder is resolved here: the application runs in the repository, where `llamonitor-otel` resolves.
  LLAMONITOR_URL: destination.kind === 'parquet' ? resolve(destination.url) : destination.url,
  LLAMONITOR_TABLE: destination.table,
  OTEL_SERVICE_NAME: serviceName,
  OPENAI_BASE_URL: server.baseURL,
  OPENAI_API_KEY: FAKE_API_KEY,
};
console.log(`$ OTEL_SERVICE_NAME=${serviceName} LLAMONITOR_URL=... node ${args.join(' ')}`);
const code = await new Promise((done, fail) => {
  const child = spawn(process.execPath, args, { cwd: repository, env, stdio: 'inherit' });
  child.on('error', fail);
  child.on('exit', (exitCode, signal) => done(exitCode ?? signal));
});
await server.close();
if (code !== 0) throw new Error(`the application exited with ${code}`);
await showStoredRows(destination, serviceName);
