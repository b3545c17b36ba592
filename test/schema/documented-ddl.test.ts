/** The DDL docs/postgres.md and docs/mysql.md show is the DDL the sinks run, statement for statement. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADDED_COLUMNS, INDEXES } from '../../src/schema/columns.js';
import { addColumnsSql, addIndexSql, createTableSql } from '../../src/sinks/mysql/ddl.js';
import {
  addColumnsStatement,
  createIndexStatement,
  createIndexStatements,
  createTableStatement,
  tableName,
} from '../../src/sinks/postgres/ddl.js';
import { REPO } from '../support/child-process.js';

/** The fenced block of `doc` that starts with `start`, without its fences. */
function blockStartingWith(doc: string, start: string): string {
  const text = readFileSync(join(REPO, 'docs', doc), 'utf8');
  const at = text.indexOf(start);
  expect(at, `docs/${doc} shows ${start}`).toBeGreaterThan(-1);
  return text.slice(at, text.indexOf('```', at)).trim();
}

describe('the DDL in docs', () => {
  it('docs/postgres.md shows the CREATE TABLE and CREATE INDEX statements the PostgreSQL sink runs', () => {
    const name = tableName('metric_events');
    expect(blockStartingWith('postgres.md', 'CREATE TABLE IF NOT EXISTS "metric_events"')).toBe(
      `${[createTableStatement(name), ...createIndexStatements(name)].join(';\n')};`,
    );
  });

  it('docs/mysql.md shows the CREATE TABLE statement the MySQL sink runs', () => {
    expect(blockStartingWith('mysql.md', 'CREATE TABLE IF NOT EXISTS `metric_events`')).toBe(
      createTableSql('metric_events'),
    );
  });

  it('docs/upgrading.md shows the statements migrate runs on a 1.0 table, in PostgreSQL and MySQL', () => {
    const oneLine = (sql: string) => sql.replace(/\s+/g, ' ').replace(/\( /g, '(').trim();
    const added = INDEXES.filter((index) => index.since !== '1.0.0');
    const name = tableName('metric_events');
    expect(oneLine(blockStartingWith('upgrading.md', 'ALTER TABLE "metric_events"'))).toBe(
      oneLine(
        [
          addColumnsStatement(name, ADDED_COLUMNS),
          ...added.map((i) => createIndexStatement(name, i, true)),
        ].join(';\n') + ';',
      ),
    );
    expect(oneLine(blockStartingWith('upgrading.md', 'ALTER TABLE `metric_events`'))).toBe(
      oneLine(
        [
          addColumnsSql('metric_events', ADDED_COLUMNS, true),
          ...added.map((i) => addIndexSql('metric_events', i)),
        ].join(';\n') + ';',
      ),
    );
  });
});
