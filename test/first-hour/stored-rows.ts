/** What a child application left in its Parquet dataset, read back with DuckDB. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export interface StoredRow {
  readonly operation_name: string;
  readonly session_id: string;
  readonly trace_id: string;
  readonly scope: string | null;
}

/** The rows of `folder`'s metric_events dataset, in start order; none when it holds no file. */
export async function storedRows(folder: string): Promise<StoredRow[]> {
  const dataset = join(folder, 'metric_events');
  if (!existsSync(dataset)) return [];
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const reader = await duck.runAndReadAll(
      `SELECT operation_name, session_id, trace_id, custom_attributes->>'scope_name' AS scope
         FROM read_parquet('${dataset}/**/*.parquet') ORDER BY "timestamp"`,
    );
    return reader.getRowObjectsJson() as unknown as StoredRow[];
  } catch (error) {
    if (/No files found/.test((error as Error).message)) return [];
    throw error;
  } finally {
    duck.closeSync();
  }
}
