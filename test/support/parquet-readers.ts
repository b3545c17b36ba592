/** Independent readers for the files the Parquet sink writes: DuckDB and hyparquet. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type JS } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';

/** Paths (relative to the dataset) of every `.parquet` file a reader of the dataset sees. */
export function visibleParquetFiles(dataset: string): string[] {
  return (readdirSync(dataset, { recursive: true }) as string[])
    .filter((path) => path.endsWith('.parquet'))
    .filter((path) => !path.split('/').some((part) => part.startsWith('_') || part.startsWith('.')))
    .sort();
}

let connection: Promise<DuckDBConnection> | undefined;

async function duckdb(): Promise<DuckDBConnection> {
  connection ??= DuckDBInstance.create(':memory:').then((instance) => instance.connect());
  return connection;
}

/**
 * Rows of a DuckDB query; `{dataset}` in the SQL becomes the dataset read as
 * one Hive-partitioned table, with a `filename` column.
 */
export async function queryDataset(dataset: string, sql: string): Promise<Record<string, JS>[]> {
  const table = `read_parquet('${join(dataset, '**', '*.parquet').replaceAll("'", "''")}', hive_partitioning = true, union_by_name = true, filename = true)`;
  const reader = await (await duckdb()).runAndReadAll(sql.replaceAll('{dataset}', table));
  return reader.getRowObjectsJS();
}

/** Every row of every visible file, read by hyparquet. */
export async function readWithHyparquet(dataset: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const path of visibleParquetFiles(dataset)) {
    rows.push(...(await parquetReadObjects({ file: await asyncBufferFromFile(join(dataset, path)) })));
  }
  return rows;
}
