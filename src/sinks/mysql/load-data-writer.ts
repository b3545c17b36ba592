/**
 * The fast bulk path: LOAD DATA LOCAL INFILE ... IGNORE, fed from a stream of
 * rows in the shared delimited-text encoding. The driver never opens a file:
 * whatever name the server asks for, it gets this batch's rows.
 */
import type { Writable } from 'node:stream';
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import { INSERT_COLUMNS, type MetricEvent } from '../../schema/columns.js';
import { createDelimitedEncoder } from '../delimited-text.js';
import { quoteIdentifier } from './ddl.js';
import { encodedRowStream } from './load-data-stream.js';
import { checkWriteResult } from './write-result.js';

const ROWS_PER_CHUNK = 256;
const MAX_CHUNK_BYTES = 1 << 20;

/** The statement; the encoder's format spelled out: tab-separated, backslash escapes, \N for null. */
export function loadDataSql(table: string): string {
  const columns = INSERT_COLUMNS.map((c) => quoteIdentifier(c.name)).join(', ');
  return (
    `LOAD DATA LOCAL INFILE 'llamonitor-rows' IGNORE INTO TABLE ${quoteIdentifier(table)} CHARACTER SET utf8mb4 ` +
    `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${columns})`
  );
}

/** The errors with which a server refuses LOAD DATA LOCAL before reading any row. */
export function isLocalInfileRefused(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ER_CLIENT_LOCAL_FILES_DISABLED' || code === 'ER_NOT_ALLOWED_COMMAND';
}

export class LoadDataWriter {
  private readonly sql: string;
  private readonly encode = createDelimitedEncoder(INSERT_COLUMNS, 'mysql');
  private readonly maxChunkBytes: number;

  constructor(
    private readonly table: string,
    maxAllowedPacket: number,
  ) {
    this.sql = loadDataSql(table);
    this.maxChunkBytes = Math.max(1024, Math.min(MAX_CHUNK_BYTES, maxAllowedPacket - 1024));
  }

  /** Writes `rows` on `connection` (inside the caller's transaction); throws on any warning but duplicates. */
  async write(connection: PoolConnection, rows: readonly MetricEvent[]): Promise<void> {
    const socket = socketOf(connection);
    const [header] = await connection.query<ResultSetHeader>({
      sql: this.sql,
      infileStreamFactory: () =>
        encodedRowStream(rows, this.encode, {
          rowsPerChunk: ROWS_PER_CHUNK,
          maxChunkBytes: this.maxChunkBytes,
          socket,
        }),
    });
    await checkWriteResult(connection, header, rows.length, this.table);
  }
}

/** The socket under a mysql2 pool connection, for back-pressure; undefined if the driver hides it. */
function socketOf(connection: PoolConnection): Writable | undefined {
  const stream = (connection as unknown as { connection?: { stream?: unknown } }).connection?.stream;
  return stream && typeof (stream as Writable).once === 'function' ? (stream as Writable) : undefined;
}
