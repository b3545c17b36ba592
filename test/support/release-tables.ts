/**
 * The tables earlier versions created, as they created them: this package's
 * 1.0 release (its DDL saved as it printed it) and the Python project's (the
 * seed write-up's MySQL DDL).
 */
import { readFileSync } from 'node:fs';

const fixture = (name: string) => readFileSync(new URL(`../sinks/fixtures/${name}`, import.meta.url), 'utf8');

/** The 1.0 release's CREATE TABLE and CREATE INDEX statements for `table` (in `schema`, PostgreSQL), as one script. */
export function releaseTableDdl(store: 'postgres' | 'mysql', table: string, schema?: string): string {
  if (store === 'mysql') return fixture('mysql-1.0.sql').replaceAll('__TABLE__', table);
  const qualified = schema === undefined ? `"${table}"` : `"${schema}"."${table}"`;
  return fixture('postgres-1.0.sql').replaceAll('"__TABLE__"', qualified).replaceAll('__TABLE__', table);
}
