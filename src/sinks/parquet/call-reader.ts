/**
 * The read queries (sinks/call-queries.ts) over a Parquet dataset: DuckDB's
 * SQL over the finished files of the days in range (`@duckdb/node-api`, the
 * optional peer dependency `llamonitor stats` uses too), columns matched by
 * name across files of older schema versions (`union_by_name`). Rows still in
 * the write-ahead log (`_wal`) are not visible until their file is finished.
 * Percentiles by `quantile_cont`: linear interpolation, as PostgreSQL's.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { QueryRunner, RowWatcher, SqlDialect } from '../call-queries.js';
import { WalWatcher } from './wal-watcher.js';
import { filesInRange, loadDuckDb, partitions } from './maintenance.js';

type DuckDbConnection = Awaited<
  ReturnType<
    Awaited<ReturnType<Awaited<ReturnType<typeof loadDuckDb>>['DuckDBInstance']['create']>>['connect']
  >
>;

const METRICS = `"text_custom_metrics"`;

export const duckDbDialect: SqlDialect = {
  placeholder: (index) => `$${index}`,
  identifier: (name) => `"${name}"`,
  time: (placeholder) => `CAST(${placeholder} AS TIMESTAMPTZ)`,
  timeValue: (isoMicros) => isoMicros,
  epochMicros: `epoch_us("timestamp")`,
  bucketStart: (seconds) => `CAST(floor(epoch("timestamp") / ${seconds}) * ${seconds} AS BIGINT)`,
  eventIdText: `CAST("event_id" AS VARCHAR)`,
  asText: (column) => `CAST(${column} AS VARCHAR)`,
  costSource: `json_extract_string(${METRICS}, '$.cost_source')`,
  prompt: `json_extract_string("custom_attributes", '$.prompt')`,
  completion: `json_extract_string("custom_attributes", '$.completion')`,
  repeatsUsage: `coalesce(json_extract(${METRICS}, '$.aggregate'), json_extract(${METRICS}, '$.aggregate_input_tokens'), json_extract(${METRICS}, '$.aggregate_output_tokens')) IS NOT NULL`,
  contains: (text, placeholder) => `${text} LIKE ${placeholder} ESCAPE '!'`,
  percentiles: 'aggregate',
  percentile: (column, fraction) => `quantile_cont(${column}, ${fraction})`,
};

const sqlText = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The finished files of every day of the dataset. */
function allFiles(dataset: string): string[] {
  return partitions(dataset).flatMap(({ folder }) =>
    readdirSync(folder)
      .filter((name) => name.endsWith('.parquet') && !name.startsWith('.'))
      .sort()
      .map((name) => join(folder, name)),
  );
}

export class ParquetQueryRunner implements QueryRunner {
  readonly dialect = duckDbDialect;
  private connection: Promise<DuckDbConnection> | undefined;

  constructor(private readonly dataset: string) {}

  source(range?: { readonly from: Date; readonly to: Date }): string | undefined {
    const files =
      range === undefined ? allFiles(this.dataset) : filesInRange(this.dataset, range.from, range.to);
    if (files.length === 0) return undefined;
    return `read_parquet([${files.map(sqlText).join(', ')}], union_by_name = true)`;
  }

  async all(sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[]> {
    const connection = await (this.connection ??= this.connect());
    const reader = await connection.runAndReadAll(sql, params as never);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  }

  watcher(): RowWatcher {
    return new WalWatcher(this.dataset);
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) (await connection.catch(() => undefined))?.closeSync();
  }

  private async connect(): Promise<DuckDbConnection> {
    const { DuckDBInstance } = await loadDuckDb();
    return (await DuckDBInstance.create(':memory:')).connect();
  }
}
