/**
 * The portable bulk path, for servers without local_infile (MySQL 8's
 * default): multi-row INSERT IGNORE statements sized by bytes.
 */
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { MetricEvent } from '../../schema/columns.js';
import { ALL_COLUMNS, type WrittenColumns } from '../table-columns.js';
import {
  createTupleEncoder,
  insertPrefix,
  planInsertStatements,
  type Escape,
  type InsertStatement,
} from './insert-statements.js';
import { checkWriteResult } from './write-result.js';

/**
 * Encoding a statement blocks the event loop, about 25 ms a MiB (the driver escapes JSON a
 * character at a time); statements of 256 KiB to 15 MiB measured alike in rows per second.
 */
const STATEMENT_BYTES_CAP = 256 << 10;
/** Room for the packet header and the command byte. */
const PACKET_MARGIN = 1024;

export class InsertWriter {
  private readonly prefix: string;
  private readonly encodeTuple: (row: MetricEvent) => string;
  readonly maxStatementBytes: number;
  /** The largest statement the server takes: a row larger than maxStatementBytes goes alone, up to this. */
  readonly maxPacketBytes: number;

  constructor(
    readonly table: string,
    escape: Escape,
    maxAllowedPacket: number,
    written: WrittenColumns = ALL_COLUMNS,
  ) {
    this.prefix = insertPrefix(table, written);
    this.encodeTuple = createTupleEncoder(escape, written);
    this.maxPacketBytes = maxAllowedPacket - PACKET_MARGIN;
    this.maxStatementBytes = Math.min(STATEMENT_BYTES_CAP, this.maxPacketBytes);
  }

  /**
   * Writes `rows` on `connection` (inside the caller's transaction) in as many statements as their
   * size needs. Resolves with the number of rows skipped as stored before.
   */
  async write(connection: PoolConnection, rows: readonly MetricEvent[]): Promise<number> {
    let skipped = 0;
    const plan = planInsertStatements(
      rows,
      this.prefix,
      this.encodeTuple,
      this.maxStatementBytes,
      this.maxPacketBytes,
    );
    let current = plan.next();
    while (!current.done) {
      const statement = current.value;
      const pending = connection.query<ResultSetHeader>(statement.sql);
      let next: IteratorResult<InsertStatement>;
      try {
        // Encoding the next statement while the server runs this one keeps both cores busy.
        next = plan.next();
      } catch (error) {
        await pending.catch(() => undefined);
        throw error;
      }
      const [header] = await pending;
      skipped += await checkWriteResult(connection, header, statement.rows, this.table);
      current = next;
    }
    return skipped;
  }
}
