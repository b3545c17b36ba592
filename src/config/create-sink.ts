/**
 * The sink for the configured URL. Each sink's module is loaded only when its
 * scheme is used, so the driver of a sink not in use is never required.
 */
import type { Sink, SinkOptions } from '../sinks/sink.js';
import type { ResolvedOptions } from './options.js';

const DRIVERS = { postgres: 'pg pg-copy-streams', mysql: 'mysql2', parquet: 'hyparquet-writer' } as const;

/** Loads a sink module; a missing driver becomes an error that says what to install. */
async function load<T>(kind: keyof typeof DRIVERS, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(
        `the ${kind} sink needs its driver: npm install ${DRIVERS[kind]} (${(error as Error).message})`,
      );
    }
    throw error;
  }
}

export async function createSink(options: ResolvedOptions): Promise<Sink> {
  const sinkOptions: SinkOptions = {
    table: options.table,
    schema: options.schema,
    poolSize: options.poolSize,
    createTable: options.createTable,
  };
  const target = options.target;
  switch (target.kind) {
    case 'postgres': {
      const { createPostgresSink } = await load('postgres', () => import('../sinks/postgres/index.js'));
      return createPostgresSink(target.url, sinkOptions);
    }
    case 'mysql': {
      const { createMySqlSink } = await load('mysql', () => import('../sinks/mysql/index.js'));
      return createMySqlSink(target.url, sinkOptions);
    }
    case 'parquet': {
      const { ParquetSink } = await load('parquet', () => import('../sinks/parquet/index.js'));
      return new ParquetSink(target.directory, {
        ...sinkOptions,
        fileRows: options.parquetFileRows,
        fileAgeMillis: options.parquetFileAgeMillis,
        fileMode: options.fileMode,
      });
    }
  }
}
