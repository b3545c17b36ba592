/**
 * `npm run capture`: regenerates test/fixtures/captured/ by running every
 * target against the fake server, each in a process of its own (the
 * instrumentations patch shared modules, so two must not meet in one process).
 * `npm run capture -- <target> ...` runs only those.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CAPTURE_TARGETS } from './registry.js';

const runOne = fileURLToPath(new URL('./run-one.ts', import.meta.url));
const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(CAPTURE_TARGETS);
let failed = 0;
for (const name of names) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', runOne, name], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`capture of ${name} failed (exit ${result.status ?? result.signal})`);
    failed++;
  }
}
process.exit(failed > 0 ? 1 : 0);
