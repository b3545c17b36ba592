/**
 * The PostgreSQL sink: lifecycle only. Rows go in by COPY straight into the
 * table; a batch that meets rows stored before goes again through the
 * conflict path, so each row is stored once.
 */
import { diag } from '@opentelemetry/api';
import type pg from 'pg';
import { INSERT_COLUMNS, type MetricEvent } from '../../schema/columns.js';
import { createDelimitedEncoder } from '../delimited-text.js';
import { redactSecrets } from '../../secrets.js';
import { ConfigError, ConnectionError } from '../../errors.js';
import { destroyOnAbort, driverSocketOf, unlessAborted } from '../abort.js';
import type { Sink, SinkOptions } from '../sink.js';
import { postgresConnectionConfig, type PostgresConnectionConfig } from './connection-config.js';
import { openPool } from './connect.js';
import { writeSkippingStored } from './conflict-path.js';
import { copyRows, type RowEncoder } from './copy-writer.js';
import {
  copyStatement,
  createIndexStatements,
  createSchemaStatement,
  createTableStatement,
  tableName,
  type TableName,
} from './ddl.js';
import {
  DEADLOCK_DETECTED,
  UNIQUE_VIOLATION,
  describePostgresError,
  sqlState,
  type ErrorContext,
  type SinkAction,
} from './errors.js';
import { deleteRowsById, readRowsById } from './read-back.js';
import { declaredTypes, readTableShape, tableShapeProblems, type TableShape } from './table-shape.js';

/** Rows below which a batch is not worth a second connection. */
const MIN_ROWS_PER_PART = 5_000;
/**
 * COPY failures after which the conflict path stores the rows: a unique
 * violation (rows stored before), or a deadlock between two parts of one
 * batch that both hold a row sent twice.
 */
const STORED_BEFORE = new Set([UNIQUE_VIOLATION, DEADLOCK_DETECTED]);

export class PostgresSink implements Sink {
  readonly kind = 'postgres' as const;
  readonly target: string;
  readonly #config: PostgresConnectionConfig;
  readonly #name: TableName;
  readonly #createTable: boolean;
  readonly #poolSize: number;
  readonly #context: ErrorContext;
  readonly #copySql: string;
  readonly #encode: RowEncoder;
  #pool: Promise<pg.Pool> | undefined;
  /** The table's column types, for the conflict path's staging table; read once. */
  #columnTypes: ReadonlyMap<string, string> | undefined;
  #closed = false;
  /** Writes not yet settled: close() lets them finish before ending the pool. */
  readonly #inFlight = new Set<Promise<void>>();

  /** Checks the table and schema names and the URL (or takes it checked); opens no connection. */
  constructor(url: string | PostgresConnectionConfig, options: SinkOptions) {
    this.#name = tableName(options.table, options.schema);
    this.#config = typeof url === 'string' ? postgresConnectionConfig(url) : url;
    this.#createTable = options.createTable;
    this.#poolSize = options.poolSize;
    this.target = this.#config.target;
    this.#context = {
      target: this.target,
      user: this.#config.user,
      table: this.#name,
      sslmode: this.#config.sslmode,
      secrets: this.#config.secrets,
    };
    this.#copySql = copyStatement(this.#name.sql);
    this.#encode = createDelimitedEncoder(INSERT_COLUMNS, 'postgres');
  }

  async prepare(): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#withClient('create the table', undefined, async (client, step) => {
      if (this.#createTable) await this.#createTableIfMissing(client);
      step.action = 'check the table';
      const shape = await this.#readShape(client);
      const problems = tableShapeProblems(shape);
      if (problems.length > 0) {
        throw new ConfigError(
          `table ${this.#name.sql} at ${this.target} does not fit metric_events: ${problems.join('; ')}. ` +
            `Change the table, or point LLAMONITOR_TABLE / LLAMONITOR_SCHEMA at another one.`,
        );
      }
      step.action = 'write rows';
      this.#assertCanInsert(shape);
      if (!shape.canCreateTemporary) {
        diag.warn(
          `llamonitor: user ${shape.user} may not create temporary tables in this database: ` +
            `a batch holding rows stored before (a retry, a replay) will fail. GRANT TEMPORARY ON DATABASE to it.`,
        );
      }
      this.#columnTypes = declaredTypes(shape);
    });
  }

  /**
   * A large batch is cut into parts written on several connections at once:
   * the server maintains the indexes on more than one core. A failed write may
   * have stored some parts; written again, each row is still stored once.
   */
  async write(rows: readonly MetricEvent[], signal?: AbortSignal): Promise<void> {
    if (rows.length === 0) return;
    if (this.#closed) throw this.#closedError();
    const writing = this.#writeInParts(rows, signal);
    this.#inFlight.add(writing);
    try {
      await writing;
    } finally {
      this.#inFlight.delete(writing);
    }
  }

  async #writeInParts(rows: readonly MetricEvent[], signal: AbortSignal | undefined): Promise<void> {
    const parts = Math.max(1, Math.min(this.#poolSize, Math.floor(rows.length / MIN_ROWS_PER_PART)));
    if (parts === 1) return this.#writePart(rows, signal);
    const size = Math.ceil(rows.length / parts);
    const results = await Promise.allSettled(
      Array.from({ length: parts }, (_, i) => this.#writePart(rows.slice(i * size, (i + 1) * size), signal)),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async #writePart(rows: readonly MetricEvent[], signal: AbortSignal | undefined): Promise<void> {
    await this.#withClient('write rows', signal, async (client) => {
      try {
        await copyRows(client, this.#copySql, rows, this.#encode);
        return;
      } catch (error) {
        if (!STORED_BEFORE.has(sqlState(error) ?? '')) throw error;
      }
      const columnTypes = this.#columnTypes ?? (await this.#readColumnTypes(client));
      const inserted = await writeSkippingStored(client, this.#name, columnTypes, rows, this.#encode);
      diag.debug(
        `llamonitor: ${rows.length - inserted} of ${rows.length} rows were stored before; wrote the other ${inserted}`,
      );
    });
  }

  /** The server answers. The table and the permission to insert are prepare()'s checks. */
  async checkHealth(signal?: AbortSignal): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#withClient('connect', signal, async (client) => {
      await client.query('SELECT 1');
    });
  }

  async readBack(eventIds: readonly string[]): Promise<MetricEvent[]> {
    if (this.#closed) throw this.#closedError();
    return this.#withClient('read rows', undefined, async (client) =>
      readRowsById(client, this.#name, this.#columnTypes ?? (await this.#readColumnTypes(client)), eventIds),
    );
  }

  async remove(eventIds: readonly string[]): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#withClient('delete rows', undefined, (client) =>
      deleteRowsById(client, this.#name, eventIds),
    );
  }

  /** Rows are durable once write resolves: nothing to flush. */
  async flush(): Promise<void> {}

  /** Refuses new writes, waits for those in flight, then closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // pg-pool's end() would strand writes still waiting for a connection.
    await Promise.allSettled(this.#inFlight);
    const pool = await this.#pool?.catch(() => undefined);
    await pool?.end();
  }

  /**
   * Runs `work` on a pooled connection and describes its failure as a failure to
   * `step.action`. A connection that failed is discarded: it may sit in an
   * aborted transaction or a broken COPY.
   */
  async #withClient<T>(
    action: SinkAction,
    signal: AbortSignal | undefined,
    work: (client: pg.PoolClient, step: { action: SinkAction }) => Promise<T>,
  ): Promise<T> {
    const step = { action };
    let client: pg.PoolClient;
    try {
      client = await unlessAborted(this.#connect(), signal, (late) => late.release());
    } catch (error) {
      throw describePostgresError(error, 'connect', this.#context);
    }
    // pg-pool listens for errors only on idle connections; a connection lost while in use emits one too.
    const onError = (error: Error) =>
      diag.warn(
        `llamonitor: a PostgreSQL connection to ${this.target} failed: ` +
          redactSecrets(error.message, this.#config.secrets),
      );
    client.on('error', onError);
    let failure: Error | undefined;
    try {
      return await destroyOnAbort(driverSocketOf(client), signal, () => work(client, step));
    } catch (error) {
      failure = describePostgresError(error, step.action, this.#context);
      throw failure;
    } finally {
      client.off('error', onError);
      client.release(failure);
    }
  }

  async #connect(): Promise<pg.PoolClient> {
    this.#pool ??= openPool(this.#config, this.#poolSize).catch((error: unknown) => {
      this.#pool = undefined; // the next call tries again: the server may be back
      throw error;
    });
    return (await this.#pool).connect();
  }

  #closedError(): ConnectionError {
    return new ConnectionError(`the PostgreSQL sink for ${this.target} is closed`);
  }

  /** Creates schema, table and indexes in one transaction, serialised across processes by an advisory lock. */
  async #createTableIfMissing(client: pg.ClientBase): Promise<void> {
    const name = this.#name;
    const present = await client.query<{ present: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS present',
      [name.sql],
    );
    if (present.rows[0]?.present) return;
    await client.query('BEGIN');
    // CREATE ... IF NOT EXISTS alone still races on the catalog (duplicate pg_type rows) across processes.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `llamonitor-otel ${name.sql}`,
    ]);
    if (name.schema !== undefined) {
      const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name.schema]);
      if (schema.rowCount === 0) await client.query(createSchemaStatement(name.schema));
    }
    await client.query(createTableStatement(name));
    for (const statement of createIndexStatements(name)) await client.query(statement);
    await client.query('COMMIT');
    diag.info(`llamonitor: table ${name.sql} is ready at ${this.target}`);
  }

  async #readColumnTypes(client: pg.ClientBase): Promise<ReadonlyMap<string, string>> {
    this.#columnTypes = declaredTypes(await this.#readShape(client));
    return this.#columnTypes;
  }

  async #readShape(client: pg.ClientBase): Promise<TableShape> {
    const shape = await readTableShape(client, this.#name);
    if (!shape) throw withCode('42P01', `relation ${this.#name.sql} does not exist`);
    return shape;
  }

  #assertCanInsert(shape: TableShape): void {
    if (!shape.canInsert) throw withCode('42501', `permission denied for table ${this.#name.sql}`);
  }
}

/** An error shaped like the server's, for conditions the sink finds itself. */
function withCode(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
