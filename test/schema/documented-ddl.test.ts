/** The DDL docs/postgres.md and docs/mysql.md show is the DDL the sinks run, statement for statement. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTableSql } from '../../src/sinks/mysql/ddl.js';
import { createIndexStatements, createTableStatement, tableName } from '../../src/sinks/postgres/ddl.js';
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
});
