/**
 * Loads a module of the built package (dist/). Code that starts worker threads
 * needs the compiled JavaScript: a Worker runs a .js file, and vitest only
 * transforms the TypeScript it imports itself. `npm test` builds first; this
 * refuses a dist/ older than src/ so that a test never checks stale code.
 *
 *   const { ParquetSink } = await importBuilt<typeof import('../../src/sinks/parquet/index.js')>(
 *     'sinks/parquet/index.js');
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function newestSource(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The dist/ path of a module, checked to exist and to be newer than every file in src/. */
export function builtModulePath(modulePath: string): string {
  const path = join(ROOT, 'dist', modulePath);
  let built: number;
  try {
    built = statSync(path).mtimeMs;
  } catch {
    throw new Error(`dist/${modulePath} is missing: run \`npm run build\` first (\`npm test\` does)`);
  }
  if (built < newestSource(join(ROOT, 'src'))) {
    throw new Error(`dist/ is older than src/: run \`npm run build\` first (\`npm test\` does)`);
  }
  return path;
}

/** Imports `dist/<modulePath>`, typed as its TypeScript source. */
export async function importBuilt<T>(modulePath: string): Promise<T> {
  return (await import(pathToFileURL(builtModulePath(modulePath)).href)) as T;
}
