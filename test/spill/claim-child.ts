/**
 * A process for the claim tests, using the built package's SpillStore:
 *
 *   node --import tsx test/spill/claim-child.ts claim <folder>
 *     claims every spill file in the folder, prints one JSON line
 *     {"pid", "claimed": [names]}, then waits until it is killed.
 *   node --import tsx test/spill/claim-child.ts replay <folder>
 *     takes every spill file the folder offers (claims of processes that are
 *     gone released), reads and removes each, prints {"pid", "files", "rows"}.
 */
import { importBuilt } from '../support/built-package.js';

type SpillModule = typeof import('../../src/spill/spill-store.js');

const [mode, folder] = process.argv.slice(2);
const { SpillStore } = await importBuilt<SpillModule>('spill/spill-store.js');
const store = new SpillStore(folder as string, Number.MAX_SAFE_INTEGER);

if (mode === 'claim') {
  const claimed: string[] = [];
  for (const name of await store.list()) if (await store.claim(name)) claimed.push(name);
  process.stdout.write(`${JSON.stringify({ pid: process.pid, claimed })}\n`);
  setInterval(() => {}, 1 << 30); // held until the test kills this process
} else if (mode === 'replay') {
  let files = 0;
  let rows = 0;
  for (const name of await store.list()) {
    const claimed = await store.claim(name);
    if (!claimed) continue;
    rows += (await store.read(claimed)).rows.length;
    await store.remove(claimed);
    files++;
  }
  process.stdout.write(`${JSON.stringify({ pid: process.pid, files, rows })}\n`);
} else {
  throw new Error(`unknown mode ${String(mode)}`);
}
