/**
 * The column lists people read are the column table's: the README's table of
 * columns and types per store, and the one-line lists in docs/ and examples,
 * checked against src/schema/columns.ts and each sink's own type map.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLUMNS, INDEXES, SCHEMA_VERSION } from '../../src/schema/columns.js';
import { columnTypes } from '../../src/sinks/registry.js';
import { REPO } from '../support/child-process.js';

const README = readFileSync(join(REPO, 'README.md'), 'utf8');

/** The README's column table: each row's column names and its PostgreSQL, MySQL and Parquet cells. */
function readmeColumnRows(): { names: string[]; types: [string, string, string] }[] {
  const section = README.slice(README.indexOf('## The table'), README.indexOf('## Stores'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.split(' | ').map((cell) => cell.replace(/^\| /, '').trim());
      const names = [...(cells[0] as string).matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string);
      return { names, types: [cells[1], cells[2], cells[3]] as [string, string, string] };
    });
}

describe('the documented columns', () => {
  it("list every column of the README's table once, in the column table's order", () => {
    const documented = readmeColumnRows().flatMap((row) => row.names);
    expect(documented).toEqual(COLUMNS.map((c) => c.name));
  });

  it("give each column the type its sink declares (the README's cells against each sink's type map)", () => {
    for (const { names, types } of readmeColumnRows()) {
      names.forEach((name, i) => {
        const column = COLUMNS.find((c) => c.name === name)!;
        const declared = [...columnTypes(column).values()];
        types.forEach((cell, store) => {
          const parts = cell.replace(' primary key', '').split(/, (?![^(]*\))/); // not inside TIMESTAMP(MICROS, UTC)
          const documented = parts.length === names.length ? parts[i] : parts[0];
          expect(
            documented,
            `${name} in the README's ${['PostgreSQL', 'MySQL', 'Parquet'][store]} column`,
          ).toBe(declared[store]);
        });
      });
    }
  });

  it('name the schema version and every index', () => {
    expect(README).toContain(`schema version \`${SCHEMA_VERSION}\``);
    for (const index of INDEXES) {
      const columns = index.columns.map((c) =>
        c === 'timestamp' && index.columns.length > 1 ? `timestamp DESC` : c,
      );
      const text =
        index.columns.length === 1 && index.columns[0] === 'timestamp'
          ? '(timestamp DESC)'
          : `(${columns.join(', ')})`;
      expect(README).toContain(`\`${text}\``);
    }
  });
});
