/**
 * The tables earlier versions created, as they created them: this package's
 * 1.0 release (its DDL saved as it printed it) and the Python project's (the
 * seed write-up's MySQL DDL).
 */
import { readFileSync } from 'node:fs';

const fixture = (name: string) => readFileSync(new URL(`../sinks/fixtures/${name}`, import.meta.url), 'utf8');

/** The 1.0 release's CREATE TABLE and CREATE INDEX statements for `table`, as one script. */
export function releaseTableDdl(store: 'postgres' | 'mysql', table: string): string {
  const ddl = fixture(store === 'postgres' ? 'postgres-1.0.sql' : 'mysql-1.0.sql');
  return ddl.replaceAll('__TABLE__', table);
}
