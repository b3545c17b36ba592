/**
 * The stores the serve tests run against, each with a place of its own per
 * run: a new table on this machine's PostgreSQL and MariaDB, a new folder for
 * Parquet; and the percentile method its queries document.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricEvent } from '../../src/schema/columns.js';
import type { ServeOptions } from '../../src/serve/server.js';
import type { Sink } from '../../src/sinks/sink.js';
import { importBuilt } from '../support/built-package.js';
import {
  MYSQL_URL,
  POSTGRES_URL,
  dropMySqlTable,
  dropPostgresTable,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';

const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');
const { startServer } = await importBuilt<typeof import('../../src/serve/server.js')>('serve/server.js');

export interface ServeStore {
  readonly name: string;
  readonly available: () => Promise<boolean>;
  /** The URL to give the sink for `table`, and how to remove what the run made. */
  readonly open: (table: string) => Promise<{ url: string; drop: () => Promise<void> }>;
  /** Linear interpolation (PostgreSQL, DuckDB) or nearest rank (MySQL / MariaDB). */
  readonly percentile: (sorted: readonly number[], p: number) => number;
}

const linear = (sorted: readonly number[], p: number) => {
  const at = (sorted.length - 1) * p;
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.min(low + 1, sorted.length - 1)]! - sorted[low]!) * (at - low);
};
const nearestRank = (sorted: readonly number[], p: number) => sorted[Math.ceil(p * sorted.length) - 1]!;

export const SERVE_STORES: readonly ServeStore[] = [
  {
    name: 'PostgreSQL',
    available: postgresAvailable,
    open: async (table) => ({ url: POSTGRES_URL, drop: () => dropPostgresTable(POSTGRES_URL, table) }),
    percentile: linear,
  },
  {
    name: 'MariaDB',
    available: mysqlAvailable,
    open: async (table) => ({ url: MYSQL_URL, drop: () => dropMySqlTable(MYSQL_URL, table) }),
    percentile: nearestRank,
  },
  {
    name: 'Parquet',
    available: async () => true,
    open: async () => {
      const folder = await mkdtemp(join(tmpdir(), 'llamonitor-serve-'));
      return { url: folder, drop: () => rm(folder, { recursive: true, force: true }) };
    },
    percentile: linear,
  },
];

/** A store of its own with `rows` stored through the package's sink, and `llamonitor serve`'s server over it. */
export interface ServedStore {
  readonly sink: Sink;
  readonly url: string;
  close(): Promise<void>;
}

export async function serveStore(
  store: ServeStore,
  prefix: string,
  rows: readonly MetricEvent[],
  options: Partial<Pick<ServeOptions, 'now' | 'livePollMillis'>> = {},
): Promise<ServedStore> {
  const table = uniqueName(prefix);
  const opened = await store.open(table);
  const sink = await createSink(resolveOptions({ url: opened.url, table }));
  await sink.prepare();
  await sink.write(rows);
  await sink.flush();
  const queries = sink.callQueries();
  const server = await startServer({ host: '127.0.0.1', port: 0, queries, target: store.name, ...options });
  return {
    sink,
    url: server.url,
    close: async () => {
      await server.close();
      await queries.close();
      await sink.close();
      await opened.drop();
    },
  };
}
