/**
 * The fast bulk path: LOAD DATA LOCAL INFILE ... IGNORE, fed from a stream of
 * rows in the shared delimited-text encoding. The driver never opens a file:
 * whatever name the server asks for, it gets this batch's rows.
 */
import type { Writable } from 'node:stream';
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { MetricEvent } from '../../schema/columns.js';
import { createDelimitedEncoder } from '../delimited-text.js';
import { ALL_COLUMNS, type WrittenColumns } from '../table-columns.js';
import { quoteIdentifier } from './ddl.js';
import { encodedRowStream } from './load-data-stream.js';
import { checkWriteResult } from './write-result.js';

const ROWS_PER_CHUNK = 256;
const MAX_CHUNK_BYTES = 1 << 20;

/** The statement; the encoder's format spelled out: tab-separated, backslash escapes, \N for null. */
export function loadDataSql(table: string, written: WrittenColumns = ALL_COLUMNS): string {
  const columns = written.columns.map((c) => quoteIdentifier(c.name)).join(', ');
  return (
    `LOAD DATA LOCAL INFILE 'llamonitor-rows' IGNORE INTO TABLE ${quoteIdentifier(table)} CHARACTER SET utf8mb4 ` +
    `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${columns})`
  );
}

/**
 * The errors with which a server refuses LOAD DATA LOCAL before reading any row: MySQL 8's
 * ER_CLIENT_LOCAL_FILES_DISABLED (3948), MariaDB's ER_LOAD_INFILE_CAPABILITY_DISABLED (4166,
 * which mysql2 has no name for) and the older ER_NOT_ALLOWED_COMMAND (1148).
 */
const LOCAL_INFILE_REFUSED = new Set([1148, 3948, 4166]);

export function isLocalInfileRefused(error: unknown): boolean {
  const errno = (error as { errno?: number } | null)?.errno;
  return errno !== undefined && LOCAL_INFILE_REFUSED.has(errno);
}

export class LoadDataWriter {
  private readonly sql: string;
  private readonly encode: ReturnType<typeof createDelimitedEncoder>;
  private readonly maxChunkBytes: number;

  /** Writes the `written` columns of each row (those the table has). */
  constructor(
    private readonly table: string,
    maxAllowedPacket: number,
    written: WrittenColumns = ALL_COLUMNS,
  ) {
    this.sql = loadDataSql(table, written);
    this.encode = createDelimitedEncoder(written.columns, 'mysql', written.fixed);
    this.maxChunkBytes = Math.max(1024, Math.min(MAX_CHUNK_BYTES, maxAllowedPacket - 1024));
  }

  /**
   * Writes `rows` on `connection` (inside the caller's transaction); throws on any warning but
   * duplicates. Resolves with the number of rows skipped as stored before.
   */
  async write(connection: PoolConnection, rows: readonly MetricEvent[]): Promise<number> {
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
    return checkWriteResult(connection, header, rows.length, this.table);
  }
}

/** The socket under a mysql2 pool connection, for back-pressure; undefined if the driver hides it. */
function socketOf(connection: PoolConnection): Writable | undefined {
  const stream = (connection as unknown as { connection?: { stream?: unknown } }).connection?.stream;
  return stream && typeof (stream as Writable).once === 'function' ? (stream as Writable) : undefined;
}
