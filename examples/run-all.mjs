// npm run examples: every example (an `example:<name>` script of package.json, examples/<name>.mjs), one
// after the other, each in a process of its own (instrumentations patch shared modules). A smoke test:
// exits 1 when one fails. `npm run examples` builds the package once before.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repository = fileURLToPath(new URL('..', import.meta.url));
const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const names = Object.keys(scripts)
  .filter((script) => script.startsWith('example:'))
  .map((script) => script.slice('example:'.length));

const failed = [];
for (const name of names) {
  console.log(`\n=== example:${name}`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [`examples/${name}.mjs`], { cwd: repository, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status === 0) console.log(`=== example:${name} passed in ${seconds} s`);
  else {
    console.log(`=== example:${name} FAILED (exit ${result.status ?? result.signal}) after ${seconds} s`);
    failed.push(name);
  }
}
console.log(
  `\n${names.length - failed.length} of ${names.length} examples passed${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
);
process.exit(failed.length > 0 ? 1 : 0);
