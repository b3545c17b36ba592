/** The imports between the parts of src/ are the ones docs/architecture.md allows. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/child-process.js';

const SRC = join(REPO, 'src');
const LEAVES = ['errors', 'secrets', 'warnings', 'closest-name'];

/** Each part, and the parts and top-level modules it may import (its own files always). */
const ALLOWED: Record<string, readonly string[]> = {
  schema: ['errors'],
  pricing: ['schema', 'errors'],
  mapping: ['schema', 'pricing'],
  sinks: ['schema', ...LEAVES],
  spill: ['schema', 'sinks', ...LEAVES],
  config: ['schema', 'sinks', 'mapping', 'pricing', ...LEAVES],
  metrics: ['schema', 'config', ...LEAVES],
  export: ['schema', 'mapping', 'pricing', 'sinks', 'spill', 'config', 'metrics', ...LEAVES],
  serve: ['schema', 'sinks', ...LEAVES],
  cli: ['schema', 'pricing', 'sinks', 'spill', 'config', 'export', 'serve', ...LEAVES],
};

/** `sinks` for src/sinks/postgres/ddl.ts, `errors` for src/errors.ts. */
function partOf(file: string): string {
  const [first = ''] = relative(SRC, file).split('/');
  return first.replace(/\.(ts|js)$/, '');
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(folder, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(folder, entry.name)]
        : [],
  );
}

/** Relative imports of `file` (static, dynamic and type-only), as the parts they land in. */
function importedParts(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specifiers.map((specifier) => partOf(resolve(dirname(file), specifier)));
}

describe('the parts of src/', () => {
  it('import only what docs/architecture.md allows', () => {
    const breaches: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const part = partOf(file);
      const allowed = ALLOWED[part];
      if (allowed === undefined) continue; // a top-level module (index, register, the leaves)
      for (const imported of importedParts(file)) {
        if (imported !== part && !allowed.includes(imported))
          breaches.push(`${relative(REPO, file)} imports ${imported}`);
      }
    }
    expect(breaches).toEqual([]);
  });

  it('finds the imports it checks (a sink imports the schema)', () => {
    expect(importedParts(join(SRC, 'sinks', 'postgres', 'ddl.ts'))).toContain('schema');
  });
});
