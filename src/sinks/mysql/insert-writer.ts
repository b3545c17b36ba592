/**
 * The portable bulk path, for servers without local_infile (MySQL 8's
 * default): multi-row INSERT IGNORE statements sized by bytes.
 */
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { MetricEvent } from '../../schema/columns.js';
import {
  createTupleEncoder,
  insertPrefix,
  planInsertStatements,
  type Escape,
  type InsertStatement,
} from './insert-statements.js';
import { checkWriteResult } from './write-result.js';

/**
 * Statements above 1 MiB were no faster per row (256 KiB to 15 MiB measured alike), while
 * encoding one blocks the event loop for longer: about 10 ms a MiB.
 */
const STATEMENT_BYTES_CAP = 1 << 20;
/** Room for the packet header and the command byte. */
const PACKET_MARGIN = 1024;

export class InsertWriter {
  private readonly prefix: string;
  private readonly encodeTuple: (row: MetricEvent) => string;
  readonly maxStatementBytes: number;

  constructor(
    private readonly table: string,
    escape: Escape,
    maxAllowedPacket: number,
  ) {
    this.prefix = insertPrefix(table);
    this.encodeTuple = createTupleEncoder(escape);
    this.maxStatementBytes = Math.min(STATEMENT_BYTES_CAP, maxAllowedPacket - PACKET_MARGIN);
  }

  /** Writes `rows` on `connection` (inside the caller's transaction) in as many statements as their size needs. */
  async write(connection: PoolConnection, rows: readonly MetricEvent[]): Promise<void> {
    const plan = planInsertStatements(rows, this.prefix, this.encodeTuple, this.maxStatementBytes);
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
      await checkWriteResult(connection, header, statement.rows, this.table);
      current = next;
    }
  }
}
