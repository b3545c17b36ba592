/**
 * The PostgreSQL sink: lifecycle only. Rows go in by COPY straight into the
 * table; a batch that meets rows stored before goes again through the
 * conflict path, so each row is stored once.
 */
import { diag } from '@opentelemetry/api';
import type pg from 'pg';
import { COLUMNS, type MetricEvent } from '../../schema/columns.js';
import { createDelimitedEncoder } from '../delimited-text.js';
import { MissingColumns, schemaGapsOf, type WrittenColumns } from '../table-columns.js';
import { ConsoleWarnings } from '../../warnings.js';
import { redactSecrets } from '../../secrets.js';
import { ConfigError, ConnectionError } from '../../errors.js';
import { destroyOnAbort, driverSocketOf, unlessAborted } from '../abort.js';
import type { SchemaGaps, Sink, SinkOptions } from '../sink.js';
import { CallQueries } from '../call-queries.js';
import { READ_QUERY_SETTINGS, postgresDialect } from './call-reader.js';
import { postgresConnectionConfig, type PostgresConnectionConfig } from './connection-config.js';
import { openPool } from './connect.js';
import { writeSkippingStored } from './conflict-path.js';
import { copyRows, type RowEncoder } from './copy-writer.js';
import {
  DDL_LOCK_TIMEOUT,
  addColumnsStatement,
  copyStatement,
  createIndexStatement,
  createIndexStatements,
  createSchemaStatement,
  createTableStatement,
  indexName,
  nameAfterTable,
  quote,
  tableName,
  type TableName,
} from './ddl.js';
import {
  DEADLOCK_DETECTED,
  INSUFFICIENT_PRIVILEGE,
  LOCK_NOT_AVAILABLE,
  UNIQUE_VIOLATION,
  describePostgresError,
  sqlState,
  type ErrorContext,
  type SinkAction,
} from './errors.js';
import { deleteRowsById, readRowsById } from './read-back.js';
import {
  createDefaultPartitionStatement,
  createPartitionStatement,
  createPartitionedTableStatement,
  createPartitionsAhead,
  dropPartitionsBefore,
  partitionsOf,
  unitOfPartitions,
  type PartitionUnit,
} from './partitions.js';
import { rangesAhead } from '../time-partitions.js';
import {
  countOlder,
  deleteOlderBatch,
  releaseMaintenanceLock,
  reprice,
  tryMaintenanceLock,
} from './maintenance.js';
import {
  MaintenanceBusyError,
  pruneInBatches,
  type PruneReport,
  type PruneRequest,
  type RepriceReport,
  type RepriceRequest,
} from '../maintenance.js';
import {
  declaredTypes,
  missingIndexes,
  readTableShape,
  tableShapeProblems,
  writtenColumnsOf,
  type TableShape,
} from './table-shape.js';

/** Rows below which a batch is not worth a second connection. */
const MIN_ROWS_PER_PART = 5_000;
/**
 * COPY failures after which the conflict path stores the rows: a unique
 * violation (rows stored before), or a deadlock between two parts of one
 * batch that both hold a row sent twice.
 */
const STORED_BEFORE = new Set([UNIQUE_VIOLATION, DEADLOCK_DETECTED]);

/** The table as the writes need it: read from the catalog once, again after columns were added. */
interface KnownTable {
  /** Each column's type as the table declares it, for the conflict path's staging table. */
  readonly types: ReadonlyMap<string, string>;
  readonly written: WrittenColumns;
  readonly copySql: string;
  readonly encode: RowEncoder;
}

export class PostgresSink implements Sink {
  readonly kind = 'postgres' as const;
  readonly target: string;
  readonly #config: PostgresConnectionConfig;
  readonly #name: TableName;
  readonly #createTable: boolean;
  readonly #poolSize: number;
  readonly #context: ErrorContext;
  readonly #missing: MissingColumns;
  #pool: Promise<pg.Pool> | undefined;
  #table: KnownTable | undefined;
  /** `partition` as configured: the unit of a table this sink creates. */
  readonly #partition: PartitionUnit | undefined;
  readonly #warnings: ConsoleWarnings;
  /** The unit of the table's partitions, once prepare() found it partitioned; undefined otherwise. */
  #partitionUnit: PartitionUnit | undefined;
  /** When the partitions ahead were last made sure of (the writes look again hourly). */
  #aheadCheckedAt = 0;
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
    this.#partition = options.partition === 'off' ? undefined : options.partition;
    this.#warnings = new ConsoleWarnings(options.warnings ?? true);
    this.#missing = new MissingColumns(this.#warnings, options.createTable);
  }

  async prepare(): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#withClient('create the table', undefined, async (client, step) => {
      const created = this.#createTable && (await this.#createTableIfMissing(client));
      step.action = 'check the table';
      let shape = await this.#readShape(client);
      if (this.#createTable && !created) {
        step.action = 'add columns to the table';
        if (await this.#addMissingColumns(client, shape, 'prepare')) shape = await this.#readShape(client);
        step.action = 'check the table';
      }
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
      this.#know(shape);
      step.action = 'create the table';
      await this.#preparePartitions(client, shape);
    });
  }

  /**
   * A partitioned table: its unit (the option, else its partitions' names) and the partitions ahead.
   * The option on a table made without partitions is a warning: it is written as it is.
   */
  async #preparePartitions(client: pg.ClientBase, shape: TableShape): Promise<void> {
    if (!shape.partitioned) {
      if (this.#partition !== undefined)
        this.#warnings.once(
          `partition-unpartitioned ${this.#name.sql}`,
          `LLAMONITOR_PARTITION=${this.#partition} applies to a table the package creates: ${this.#name.sql} at ` +
            `${this.target} exists without partitions and is written as it is (llamonitor migrate --partition ${this.#partition} converts it)`,
        );
      return;
    }
    this.#partitionUnit = this.#partition ?? unitOfPartitions(await partitionsOf(client, this.#name));
    if (this.#partitionUnit === undefined) return;
    if (this.#createTable) await createPartitionsAhead(client, this.#name, this.#partitionUnit, Date.now());
    this.#aheadCheckedAt = Date.now();
  }

  /** Hourly, from a write: the partitions ahead made sure of in the background (the default partition takes any row meanwhile). */
  #keepPartitionsAhead(): void {
    const unit = this.#partitionUnit;
    if (
      unit === undefined ||
      !this.#createTable ||
      Date.now() - this.#aheadCheckedAt < PARTITIONS_CHECK_MILLIS
    )
      return;
    this.#aheadCheckedAt = Date.now();
    const making = this.#withClient('create the table', undefined, (client) =>
      createPartitionsAhead(client, this.#name, unit, Date.now()),
    ).then(
      (created) => {
        if (created.length > 0)
          diag.info(`llamonitor: created partitions ${created.join(', ')} of ${this.#name.sql}`);
      },
      (error: unknown) =>
        diag.warn(
          `llamonitor: could not create the partitions ahead of ${this.#name.sql}: ${(error as Error).message}`,
        ),
    );
    this.#inFlight.add(making);
    void making.finally(() => this.#inFlight.delete(making));
  }

  async migrate(dryRun: boolean): Promise<readonly string[]> {
    if (this.#closed) throw this.#closedError();
    return this.#withClient('create the table', undefined, async (client, step) => {
      const shape = await readTableShape(client, this.#name);
      if (!shape) {
        const statements = [
          ...(this.#name.schema === undefined ? [] : [createSchemaStatement(this.#name.schema)]),
          ...this.#createStatements(),
        ];
        if (!dryRun) await this.#createTableIfMissing(client);
        return statements;
      }
      const statements: string[] = [];
      const missing = writtenColumnsOf(shape).missing;
      if (missing.length > 0) {
        statements.push(addColumnsStatement(this.#name, missing));
        step.action = 'add columns to the table';
        if (!dryRun) await this.#addMissingColumns(client, shape, 'migrate');
      }
      if (this.#partition !== undefined && !shape.partitioned) {
        step.action = 'create the table';
        statements.push(...(await this.#convertToPartitioned(client, dryRun)));
        if (!dryRun) this.#know(await this.#readShape(client));
        return statements;
      }
      step.action = 'create an index';
      for (const index of missingIndexes(shape, this.#name)) {
        // PostgreSQL builds no index CONCURRENTLY on a partitioned table.
        const statement = createIndexStatement(this.#name, index, !shape.partitioned);
        statements.push(statement);
        // Built while rows keep coming: CONCURRENTLY takes no lock that blocks writers.
        if (!dryRun) await client.query(statement);
      }
      if (!dryRun) this.#know(await this.#readShape(client));
      return statements;
    });
  }

  async schemaGaps(): Promise<SchemaGaps | undefined> {
    if (this.#closed) throw this.#closedError();
    return this.#withClient('check the table', undefined, async (client) => {
      const shape = await readTableShape(client, this.#name);
      if (!shape) return undefined;
      return schemaGapsOf(writtenColumnsOf(shape), missingIndexes(shape, this.#name));
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
    const addingColumns = this.#missing.retryIfDue(
      () =>
        this.#withClient('add columns to the table', undefined, async (client) => {
          await this.#addMissingColumns(client, await this.#readShape(client), 'prepare');
          this.#know(await this.#readShape(client));
        }),
      this.#name.sql,
    );
    if (addingColumns) await addingColumns;
    this.#keepPartitionsAhead();
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
      const table = this.#table ?? this.#know(await this.#readShape(client));
      try {
        await copyRows(client, table.copySql, rows, table.encode);
        return;
      } catch (error) {
        if (!STORED_BEFORE.has(sqlState(error) ?? '')) throw error;
      }
      const columns = table.written.columns;
      const inserted = await writeSkippingStored(
        client,
        this.#name,
        table.types,
        columns,
        rows,
        table.encode,
      );
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
    return this.#withClient('read rows', undefined, async (client) => {
      const table = this.#table ?? this.#know(await this.#readShape(client));
      return readRowsById(client, this.#name, table.types, table.written.columns, eventIds);
    });
  }

  async remove(eventIds: readonly string[]): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.#withClient('delete rows', undefined, (client) =>
      deleteRowsById(client, this.#name, eventIds),
    );
  }

  callQueries(): CallQueries {
    return new CallQueries({
      dialect: postgresDialect,
      source: () => this.#name.sql,
      all: async (sql, params) => {
        if (this.#closed) throw this.#closedError();
        return this.#withClient('read rows', undefined, async (client) => {
          // Read-only by the server's rule too; no JIT (it costs more than it saves on these queries) and room
          // to sort a group's durations in memory for its percentiles.
          await client.query(READ_QUERY_SETTINGS);
          try {
            const result = await client.query<Record<string, unknown>>(sql, params as unknown[]);
            await client.query('COMMIT');
            return result.rows;
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          }
        });
      },
      close: async () => undefined,
    });
  }

  /** Re-prices stored rows, holding the maintenance lease (an advisory lock) on one connection throughout. */
  async reprice(request: RepriceRequest): Promise<RepriceReport> {
    if (this.#closed) throw this.#closedError();
    const report = await this.#withClient('re-price rows', undefined, async (client) => {
      if (!(await tryMaintenanceLock(client, this.#name))) return undefined;
      try {
        return await reprice(client, this.#name, request);
      } finally {
        await releaseMaintenanceLock(client, this.#name);
      }
    });
    if (report === undefined) throw new MaintenanceBusyError(this.target);
    return report;
  }

  /** Removes rows older than `request.before`, a batch at a time, the lease (an advisory lock) taken for each. */
  async prune(request: PruneRequest): Promise<PruneReport> {
    if (this.#closed) throw this.#closedError();
    const name = this.#name;
    return pruneInBatches(request, this.target, {
      count: () =>
        this.#withClient('read rows', undefined, (client) => countOlder(client, name, request.before)),
      // Dropping partitions holds the advisory lock on its own connection, like a batch.
      dropPartitions: (dryRun) =>
        this.#withClient('delete rows', undefined, async (client) => {
          if ((await partitionsOf(client, name)).length === 0) return { partitions: [], rows: 0 };
          if (!(await tryMaintenanceLock(client, name))) return 'busy';
          try {
            return await dropPartitionsBefore(client, name, request.before, dryRun);
          } finally {
            await releaseMaintenanceLock(client, name);
          }
        }),
      batch: () =>
        this.#withClient('delete rows', undefined, (client) =>
          deleteOlderBatch(client, name, request.before),
        ),
    });
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

  /**
   * Creates schema, table and indexes in one transaction, serialised across
   * processes by an advisory lock; false when the table was there.
   */
  async #createTableIfMissing(client: pg.ClientBase): Promise<boolean> {
    const name = this.#name;
    const present = await client.query<{ present: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS present',
      [name.sql],
    );
    if (present.rows[0]?.present) return false;
    await client.query('BEGIN');
    // CREATE ... IF NOT EXISTS alone still races on the catalog (duplicate pg_type rows) across processes.
    await this.#lockTableDefinition(client);
    if (name.schema !== undefined) {
      const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name.schema]);
      if (schema.rowCount === 0) await client.query(createSchemaStatement(name.schema));
    }
    for (const statement of this.#createStatements()) await client.query(statement);
    await client.query('COMMIT');
    diag.info(`llamonitor: table ${name.sql} is ready at ${this.target}`);
    return true;
  }

  /**
   * `llamonitor migrate --partition day|month` on a table without partitions: in one transaction,
   * the table locked against writes (reads go on; a write waits, and its rows are spilled if the
   * copy outlasts its deadline), renamed aside with its indexes, the partitioned table created
   * under its name, every row copied into it (UTC: a TIMESTAMP column holds UTC wall time). The
   * old table stays, renamed, for you to drop. A statement that waited on the lock resolves the
   * name again once it has the lock, so it writes into the new table.
   */
  async #convertToPartitioned(client: pg.ClientBase, dryRun: boolean): Promise<string[]> {
    const name = this.#name;
    const shape = await this.#readShape(client);
    const aside = asideTableName(name.table);
    const asideSql = name.schema === undefined ? quote(aside) : `${quote(name.schema)}.${quote(aside)}`;
    const known = new Set(COLUMNS.map((c) => c.name as string));
    const columns = shape.columns
      .filter((c) => known.has(c.name))
      .map((c) => quote(c.name))
      .join(', ');
    const indexes = shape.indexNames.map(
      (index, i) =>
        `ALTER INDEX ${name.schema === undefined ? quote(index) : `${quote(name.schema)}.${quote(index)}`} ` +
        `RENAME TO ${quote(indexName(aside, `old${i}`))}`,
    );
    const statements = [
      `SET LOCAL lock_timeout = '${CONVERSION_LOCK_TIMEOUT}'`,
      `SET LOCAL TimeZone = 'UTC'`,
      `LOCK TABLE ${name.sql} IN SHARE ROW EXCLUSIVE MODE`,
      `ALTER TABLE ${name.sql} RENAME TO ${quote(aside)}`,
      ...indexes,
      ...this.#createStatements(),
      `INSERT INTO ${name.sql} (${columns}) SELECT ${columns} FROM ${asideSql}`,
    ];
    if (dryRun) return statements;
    await client.query('BEGIN');
    try {
      await this.#lockTableDefinition(client);
      for (const statement of statements) await client.query(statement);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    diag.info(`llamonitor: ${name.sql} is partitioned by ${this.#partition}; the old table is ${asideSql}`);
    return statements;
  }

  /** The table and its indexes; partitioned, its default partition and the partitions ahead too. */
  #createStatements(): string[] {
    const unit = this.#partition;
    if (unit === undefined) return [createTableStatement(this.#name), ...createIndexStatements(this.#name)];
    return [
      createPartitionedTableStatement(this.#name),
      createDefaultPartitionStatement(this.#name),
      ...rangesAhead(unit, Date.now()).map((range) => createPartitionStatement(this.#name, unit, range)),
      ...createIndexStatements(this.#name),
    ];
  }

  /** One process at a time changes the table's definition: the others wait, then find it done. */
  async #lockTableDefinition(client: pg.ClientBase): Promise<void> {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `llamonitor-otel ${this.#name.sql}`,
    ]);
  }

  /**
   * Adds the columns of this version the table lacks, in the catalog only. The
   * ALTER waits at most DDL_LOCK_TIMEOUT for its lock: queued behind a long
   * transaction it would stall every writer of the table. When it gives up,
   * or the user may not ALTER the table, rows are written without the columns;
   * after a lock timeout a write a minute later tries again (MissingColumns).
   * `llamonitor migrate` (`caller`) fails instead, saying why. True when it added some.
   */
  async #addMissingColumns(
    client: pg.ClientBase,
    shape: TableShape,
    caller: 'prepare' | 'migrate',
  ): Promise<boolean> {
    const missing = writtenColumnsOf(shape).missing;
    if (missing.length === 0) return false;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = '${DDL_LOCK_TIMEOUT}'`);
      await this.#lockTableDefinition(client);
      await client.query(addColumnsStatement(this.#name, missing));
      await client.query('COMMIT');
      this.#missing.added();
      diag.info(
        `llamonitor: added ${missing.map((c) => c.name).join(', ')} to ${this.#name.sql} at ${this.target}`,
      );
      return true;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      const code = sqlState(error);
      if (caller === 'migrate' || (code !== LOCK_NOT_AVAILABLE && code !== INSUFFICIENT_PRIVILEGE))
        throw error;
      if (code === LOCK_NOT_AVAILABLE) {
        this.#missing.failed(
          `another transaction held the table for more than ${DDL_LOCK_TIMEOUT}; tried again in a minute`,
          true,
        );
      } else {
        this.#missing.failed(`user ${this.#config.user ?? '(default)'} may not ALTER it`, false);
      }
      return false;
    }
  }

  /** Remembers what the writes need of the table; warns once when it lacks columns. */
  #know(shape: TableShape): KnownTable {
    const written = writtenColumnsOf(shape);
    this.#table = {
      types: declaredTypes(shape),
      written,
      copySql: copyStatement(this.#name.sql, written.columns),
      encode: createDelimitedEncoder(written.columns, 'postgres', written.fixed),
    };
    this.#missing.warnIfMissing(written, this.#name.sql, this.target);
    return this.#table;
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

/** How long the conversion to a partitioned table waits for the writes in flight to let go of the table. */
const CONVERSION_LOCK_TIMEOUT = '60s';

/** `<table>_unpartitioned`, shortened like an index name when long: where a converted table's old rows stay. */
function asideTableName(table: string): string {
  return nameAfterTable(table, 'unpartitioned');
}

/** How often the writes make sure of the partitions ahead. */
const PARTITIONS_CHECK_MILLIS = 3_600_000;

/** An error shaped like the server's, for conditions the sink finds itself. */
function withCode(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
