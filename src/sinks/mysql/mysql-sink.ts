/**
 * The MySQL / MariaDB sink: lifecycle only. Connecting, detecting the bulk
 * path, creating and checking the table, and handing each batch to the writer
 * of that path inside one transaction.
 */
import { diag } from '@opentelemetry/api';
import type { Pool, PoolConnection, PoolOptions, RowDataPacket } from 'mysql2/promise';
import type { MetricEvent } from '../../schema/columns.js';
import { assertIdentifier } from '../../schema/identifier.js';
import { ConsoleWarnings } from '../../warnings.js';
import type { SchemaGaps, Sink, SinkOptions } from '../sink.js';
import { MissingColumns, schemaGapsOf, type WrittenColumns } from '../table-columns.js';
import { detectCapabilities, type BulkPath, type ServerCapabilities } from './capabilities.js';
import { parseMySqlUrl, type MySqlConnectionConfig } from './connection-config.js';
import {
  DDL_LOCK_WAIT_SECONDS,
  addColumnsSql,
  addIndexSql,
  createTableSql,
  definitionLockName,
  quoteIdentifier,
} from './ddl.js';
import { ConfigError, ConnectionError } from '../../errors.js';
import { describeMySqlError } from './errors.js';
import { CallQueries } from '../call-queries.js';
import { mysqlDialect } from './call-reader.js';
import { InsertWriter } from './insert-writer.js';
import { replaceUnended } from './unended-rows.js';
import type { Escape } from './insert-statements.js';
import { isLocalInfileRefused, LoadDataWriter } from './load-data-writer.js';
import { inTransaction, loadMySqlDriver, openPool, withConnection } from './pool.js';
import {
  createPartitionsAhead,
  dropPartitionsBefore,
  partitionClause,
  partitionsOf,
  unitOfPartitions,
} from './partitions.js';
import type { PartitionUnit } from '../time-partitions.js';
import {
  countOlder,
  deleteOlderBatch,
  maintenanceLockName,
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
import { deleteRowsById, readRowsById } from './read-back.js';
import {
  checkTableSchema,
  missingIndexes,
  readTable,
  writtenColumnsOf,
  type FoundTable,
} from './table-schema.js';

export interface MySqlSinkOptions extends SinkOptions {
  /** mysql2 options merged over those the URL gives, for what a URL cannot say (e.g. a custom `ssl` object). */
  readonly driverOptions?: PoolOptions | undefined;
}

interface Connected {
  readonly pool: Pool;
  readonly capabilities: ServerCapabilities;
  readonly escape: Escape;
}

/** The writers of the columns the table has: built when the table is read, again after columns were added. */
interface Writers {
  readonly written: WrittenColumns;
  readonly loadData: LoadDataWriter;
  readonly insert: InsertWriter;
}

/** How often the writes make sure of the partitions ahead. */
const PARTITIONS_CHECK_MILLIS = 3_600_000;
/** Server errors after which the sink writes without the missing columns instead of failing. */
const LOCK_WAIT_TIMEOUT = 1205; // ER_LOCK_WAIT_TIMEOUT: a long transaction held the table's metadata lock
const MAY_NOT_ALTER = new Set([1142, 1044, 1227]); // table, database, global privilege refused
/** The server cannot add the columns without copying the table (ALGORITHM=INSTANT refused, or unknown). */
const NOT_INSTANT = new Set([1845, 1846, 1064, 4092]);

export class MySqlSink implements Sink {
  readonly kind = 'mysql' as const;
  readonly target: string;
  private readonly config: MySqlConnectionConfig;
  private readonly table: string;
  private connected: Promise<Connected> | undefined;
  /** The connection's settled value, once open. */
  private connectedNow: Connected | undefined;
  private prepared: Promise<void> | undefined;
  private bulkPath: BulkPath | undefined;
  private writers: Writers | undefined;
  private readonly missing: MissingColumns;
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;
  private readonly warnings: ConsoleWarnings;
  /** The unit of the table's partitions, once prepare() found it partitioned. */
  private partitionUnit: PartitionUnit | undefined;
  /** When the partitions ahead were last made sure of (the writes look again hourly). */
  private aheadCheckedAt = 0;

  /** Checks the URL (or takes it checked) and the table name at once; connects on prepare() or the first write. */
  constructor(
    url: string | MySqlConnectionConfig,
    private readonly options: MySqlSinkOptions,
  ) {
    this.table = assertIdentifier('table name', options.table);
    const config = typeof url === 'string' ? parseMySqlUrl(url) : url;
    this.config = { ...config, options: { ...config.options, ...options.driverOptions } };
    this.target = this.config.target;
    this.warnings = new ConsoleWarnings(options.warnings ?? true);
    this.missing = new MissingColumns(this.warnings, options.createTable);
  }

  /** `partition` as configured: the unit of a table this sink creates. */
  private get partition(): PartitionUnit | undefined {
    return this.options.partition === 'off' ? undefined : this.options.partition;
  }

  /**
   * `llamonitor migrate --partition day|month` on a table without partitions: one ALTER TABLE that
   * makes (event_id, timestamp) the primary key and partitions the table. The server copies the
   * table meanwhile and writes wait (their rows are spilled if it outlasts their deadline). Only a
   * table whose one unique key is PRIMARY KEY (event_id) can be converted: MySQL wants the
   * partitioning column in every unique key.
   */
  private conversionStatement(found: FoundTable, unit: PartitionUnit): string {
    const unique = found.indexes.filter((index) => index.unique);
    const primary = unique.find((index) => index.name === 'PRIMARY');
    if (unique.length !== 1 || primary?.columns.join(',').toLowerCase() !== 'event_id') {
      throw new ConfigError(
        `${this.qualified()} cannot be partitioned by llamonitor migrate: its unique keys are ` +
          `${unique.map((index) => `${index.name} (${index.columns.join(', ')})`).join(', ') || 'none'}, ` +
          `and only a table whose one unique key is PRIMARY KEY (event_id) is converted`,
      );
    }
    return (
      `ALTER TABLE ${quoteIdentifier(this.table)} DROP PRIMARY KEY, ADD PRIMARY KEY (\`event_id\`, \`timestamp\`)` +
      partitionClause(unit, Date.now())
    );
  }

  /** The CREATE TABLE of this sink's table, partitioned when configured. */
  private createTableStatement(): string {
    const unit = this.partition;
    return createTableSql(this.table, unit === undefined ? undefined : partitionClause(unit, Date.now()));
  }

  /**
   * A partitioned table: its unit (the option, else its partitions' names) and the partitions ahead.
   * The option on a table made without partitions is a warning: it is written as it is.
   */
  private async preparePartitions(connection: PoolConnection): Promise<void> {
    const partitions = await partitionsOf(connection, this.table);
    if (partitions.length === 0) {
      if (this.partition !== undefined)
        this.warnings.once(
          `partition-unpartitioned ${this.qualified()}`,
          `LLAMONITOR_PARTITION=${this.partition} applies to a table the package creates: ${this.qualified()} on ` +
            `${this.target} exists without partitions and is written as it is (llamonitor migrate --partition ${this.partition} converts it)`,
        );
      return;
    }
    this.partitionUnit = this.partition ?? unitOfPartitions(partitions);
    if (this.partitionUnit !== undefined && this.options.createTable)
      await this.partitionsAhead(connection, this.partitionUnit);
    this.aheadCheckedAt = Date.now();
  }

  /** Splits pmax for the ranges ahead; a lock that does not come in time leaves it for the next hour. */
  private async partitionsAhead(connection: PoolConnection, unit: PartitionUnit): Promise<void> {
    try {
      const created = await createPartitionsAhead(connection, this.table, unit, Date.now());
      if (created.length > 0)
        diag.info(`llamonitor mysql: created partitions ${created.join(', ')} of ${this.qualified()}`);
    } catch (error) {
      if ((error as { errno?: number } | null)?.errno !== LOCK_WAIT_TIMEOUT) throw error;
      diag.debug(
        `llamonitor mysql: partitions ahead of ${this.qualified()} wait for the next hour: ${(error as Error).message}`,
      );
    }
  }

  /** Hourly, from a write: the partitions ahead made sure of in the background (pmax takes any row meanwhile). */
  private keepPartitionsAhead(): void {
    const unit = this.partitionUnit;
    if (
      unit === undefined ||
      !this.options.createTable ||
      Date.now() - this.aheadCheckedAt < PARTITIONS_CHECK_MILLIS
    )
      return;
    this.aheadCheckedAt = Date.now();
    void this.track(
      this.connect()
        .then(({ pool }) => withConnection(pool, (connection) => this.partitionsAhead(connection, unit)))
        .catch((error: unknown) =>
          diag.warn(
            `llamonitor mysql: could not create the partitions ahead of ${this.qualified()}: ${(error as Error).message}`,
          ),
        ),
    );
  }

  /** The bulk path in use, once connected: 'load-data' or 'insert'. */
  get path(): BulkPath | undefined {
    return this.bulkPath;
  }

  prepare(): Promise<void> {
    this.prepared ??= this.track(this.prepareTable()).catch((error: unknown) => {
      this.prepared = undefined;
      throw error;
    });
    return this.prepared;
  }

  async write(rows: readonly MetricEvent[], signal?: AbortSignal): Promise<void> {
    if (rows.length === 0) return;
    const addingColumns = this.missing.retryIfDue(() => this.addColumnsLater(), this.qualified());
    if (addingColumns) await addingColumns;
    this.keepPartitionsAhead();
    await this.track(this.writeRows(rows, signal));
  }

  async migrate(dryRun: boolean): Promise<readonly string[]> {
    const { pool, capabilities } = await this.connect();
    const qualified = this.qualified();
    try {
      return await withConnection(pool, async (connection) => {
        const found = await readTable(connection, this.table);
        if (!found) {
          const statement = this.createTableStatement();
          if (!dryRun) await connection.query(statement);
          return [statement];
        }
        const statements: string[] = [];
        const missing = writtenColumnsOf(found).missing;
        if (missing.length > 0) {
          const instant = capabilities.instantAddColumn;
          statements.push(addColumnsSql(this.table, missing, instant));
          if (!dryRun) {
            const outcome = await this.addMissingColumns(connection, found, instant);
            if (outcome !== 'added')
              throw new ConfigError(`could not add the columns to ${qualified}: ${outcome}`);
          }
        }
        const unit = this.partition;
        if (unit !== undefined && (await partitionsOf(connection, this.table)).length === 0) {
          const statement = this.conversionStatement(found, unit);
          statements.push(statement);
          if (!dryRun) {
            await connection.query(statement);
            this.know(await this.mustReadTable(connection));
            diag.info(`llamonitor mysql: ${qualified} is partitioned by ${unit}`);
          }
          return statements;
        }
        for (const index of missingIndexes(found)) {
          const statement = addIndexSql(this.table, index);
          statements.push(statement);
          if (!dryRun) await connection.query(statement);
        }
        if (!dryRun) this.know(await this.mustReadTable(connection));
        return statements;
      });
    } catch (error) {
      throw describeMySqlError(error, `migrate table ${qualified} on`, this.config, this.table);
    }
  }

  async schemaGaps(): Promise<SchemaGaps | undefined> {
    const { pool } = await this.connect();
    try {
      return await withConnection(pool, async (connection) => {
        const found = await readTable(connection, this.table);
        if (!found) return undefined;
        return schemaGapsOf(writtenColumnsOf(found), missingIndexes(found));
      });
    } catch (error) {
      throw describeMySqlError(error, `check table ${this.qualified()} on`, this.config, this.table);
    }
  }

  async checkHealth(signal?: AbortSignal): Promise<void> {
    const { pool } = await this.connect();
    try {
      await withConnection(pool, (connection) => connection.query('SELECT 1'), signal);
    } catch (error) {
      throw describeMySqlError(error, 'query', this.config);
    }
  }

  /** The stored rows with these event ids, as they were written (the doctor's probe reads its row back). */
  async readBack(eventIds: readonly string[]): Promise<MetricEvent[]> {
    const { pool } = await this.connect();
    try {
      return await withConnection(pool, async (connection) => {
        const writers = this.writers ?? this.know(await this.mustReadTable(connection));
        return readRowsById(connection, this.table, writers.written.columns, eventIds);
      });
    } catch (error) {
      throw describeMySqlError(error, `read rows of \`${this.table}\` on`, this.config, this.table);
    }
  }

  /** Deletes the rows with these event ids (the doctor removes its probe row). */
  async remove(eventIds: readonly string[]): Promise<void> {
    const { pool } = await this.connect();
    try {
      await withConnection(pool, (connection) => deleteRowsById(connection, this.table, eventIds));
    } catch (error) {
      throw describeMySqlError(error, `delete rows of \`${this.table}\` on`, this.config, this.table);
    }
  }

  callQueries(): CallQueries {
    return new CallQueries({
      dialect: mysqlDialect,
      source: () => quoteIdentifier(this.table),
      all: async (sql, params) => {
        const { pool } = await this.connect();
        try {
          return await withConnection(pool, async (connection) => {
            const [rows] = await connection.query<RowDataPacket[]>(sql, params as unknown[]);
            return rows as Record<string, unknown>[];
          });
        } catch (error) {
          throw describeMySqlError(error, `read rows of \`${this.table}\` on`, this.config, this.table);
        }
      },
      close: async () => undefined,
    });
  }

  /** Re-prices stored rows, holding the maintenance lease (GET_LOCK) on one connection throughout. */
  async reprice(request: RepriceRequest): Promise<RepriceReport> {
    const { pool } = await this.connect();
    const lock = maintenanceLockName(this.config.database, this.table);
    let busy = false;
    try {
      return await withConnection(pool, async (connection) => {
        if (!(await tryMaintenanceLock(connection, lock))) {
          busy = true;
          throw new MaintenanceBusyError(this.target);
        }
        try {
          return await reprice(connection, this.table, request);
        } finally {
          await releaseMaintenanceLock(connection, lock);
        }
      });
    } catch (error) {
      if (busy) throw error;
      throw describeMySqlError(error, `re-price rows of \`${this.table}\` on`, this.config, this.table);
    }
  }

  /** Removes rows older than `request.before`, a batch at a time, the lease (GET_LOCK) taken for each. */
  async prune(request: PruneRequest): Promise<PruneReport> {
    const { pool } = await this.connect();
    const lock = maintenanceLockName(this.config.database, this.table);
    try {
      return await pruneInBatches(request, this.target, {
        count: () => withConnection(pool, (connection) => countOlder(connection, this.table, request.before)),
        dropPartitions: (dryRun) =>
          withConnection(pool, async (connection) => {
            if ((await partitionsOf(connection, this.table)).length === 0) return { partitions: [], rows: 0 };
            if (!(await tryMaintenanceLock(connection, lock))) return 'busy';
            try {
              return await dropPartitionsBefore(connection, this.table, request.before, dryRun);
            } finally {
              await releaseMaintenanceLock(connection, lock);
            }
          }),
        batch: () =>
          withConnection(pool, (connection) =>
            deleteOlderBatch(connection, this.table, lock, request.before),
          ),
      });
    } catch (error) {
      if (error instanceof MaintenanceBusyError) throw error;
      throw describeMySqlError(error, `remove old rows of \`${this.table}\` on`, this.config, this.table);
    }
  }

  /** Every write is durable when it resolves: nothing is buffered. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    const connected = await this.connected?.catch(() => undefined);
    await connected?.pool.end().catch(() => undefined);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inflight.add(work);
    const forget = () => this.inflight.delete(work);
    work.then(forget, forget);
    return work;
  }

  private connect(): Promise<Connected> {
    if (this.closed) return Promise.reject(new ConnectionError(`MySQL sink for ${this.target} is closed`));
    this.connected ??= this.open().catch((error: unknown) => {
      this.connected = undefined;
      this.connectedNow = undefined;
      throw error;
    });
    return this.connected;
  }

  private async open(): Promise<Connected> {
    const mysql = await loadMySqlDriver();
    const { pool, tls } = await openPool(this.config, this.options.poolSize);
    try {
      const capabilities = await withConnection(pool, (c) => detectCapabilities(c, this.config.localInfile));
      this.bulkPath = capabilities.bulkPath;
      diag.debug(
        `llamonitor mysql: ${this.target} runs ${capabilities.version}${tls ? ' over TLS' : ''}; ` +
          `bulk path ${capabilities.bulkPath} (${capabilities.reason}); max_allowed_packet ${capabilities.maxAllowedPacket}`,
      );
      this.connectedNow = {
        pool,
        capabilities,
        escape: (value) => mysql.escape(value as Parameters<typeof mysql.escape>[0]),
      };
      return this.connectedNow;
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw describeMySqlError(error, 'read the settings of', this.config);
    }
  }

  private qualified(): string {
    return `\`${this.config.database}\`.\`${this.table}\``;
  }

  private async prepareTable(): Promise<void> {
    const { pool, capabilities } = await this.connect();
    const qualified = this.qualified();
    try {
      await withConnection(pool, async (connection) => {
        let found = await readTable(connection, this.table);
        if (found && this.options.createTable && writtenColumnsOf(found).missing.length > 0) {
          if ((await this.addColumnsInstantly(connection, found, capabilities)) === 'added') {
            found = await readTable(connection, this.table);
          }
        }
        if (!found) {
          if (!this.options.createTable) {
            throw new ConfigError(
              `MySQL table ${qualified} on ${this.target} does not exist and table creation is off: ` +
                'create it with "llamonitor migrate", or set LLAMONITOR_CREATE_TABLE=true',
            );
          }
          await connection.query(this.createTableStatement());
          diag.debug(`llamonitor mysql: created table ${qualified} (if missing) on ${this.target}`);
          found = await readTable(connection, this.table);
        }
        if (!found) throw new ConfigError(`MySQL table ${qualified} is still missing after CREATE TABLE`);
        const report = checkTableSchema(found, qualified);
        for (const note of report.notes) diag.warn(`llamonitor mysql: ${note}`);
        if (report.problems.length > 0) {
          throw new ConfigError(
            `MySQL table ${qualified} on ${this.target} does not fit the metric_events columns:\n  - ` +
              `${report.problems.join('\n  - ')}\n` +
              'Fix the table, or set LLAMONITOR_TABLE to a new name so that the exporter creates one.',
          );
        }
        this.know(found);
        await this.preparePartitions(connection);
      });
    } catch (error) {
      throw describeMySqlError(error, `prepare table ${qualified} on`, this.config, this.table);
    }
  }

  private async writeRows(rows: readonly MetricEvent[], signal: AbortSignal | undefined): Promise<void> {
    const { pool } = await this.connect();
    try {
      const { loadData, insert } =
        this.writers ?? this.know(await withConnection(pool, (c) => this.mustReadTable(c), signal));
      if (this.bulkPath === 'load-data') {
        try {
          await inTransaction(
            pool,
            async (connection) => {
              if ((await loadData.write(connection, rows)) > 0)
                await replaceUnended(connection, rows, insert);
            },
            signal,
          );
          return;
        } catch (error) {
          if (!isLocalInfileRefused(error)) throw error;
          this.bulkPath = 'insert';
          diag.warn(
            `llamonitor mysql: ${this.target} refused LOAD DATA LOCAL INFILE (${(error as Error).message}); ` +
              'writing with multi-row INSERT from now on',
          );
        }
      }
      await inTransaction(
        pool,
        async (connection) => {
          if ((await insert.write(connection, rows)) > 0) await replaceUnended(connection, rows, insert);
        },
        signal,
      );
    } catch (error) {
      throw describeMySqlError(
        error,
        `write ${rows.length} rows to \`${this.table}\` on`,
        this.config,
        this.table,
      );
    }
  }

  private async mustReadTable(connection: PoolConnection): Promise<FoundTable> {
    const found = await readTable(connection, this.table);
    if (!found) throw new ConfigError(`MySQL table ${this.qualified()} on ${this.target} does not exist`);
    return found;
  }

  /**
   * Adds the columns of this version the table lacks, one process at a time
   * (GET_LOCK), waiting at most DDL_LOCK_WAIT_SECONDS for the table's metadata
   * lock: queued behind a long transaction, the ALTER would stall every writer.
   * Resolves with 'added', or why the columns are not there (also noted in
   * `missing`): a lock timeout (tried again by a write a minute later), a
   * missing privilege, or a server that would copy the table (only
   * `llamonitor migrate` does that, on request).
   */
  private async addMissingColumns(
    connection: PoolConnection,
    found: FoundTable,
    instant: boolean,
  ): Promise<'added' | string> {
    const missing = writtenColumnsOf(found).missing;
    if (missing.length === 0) return 'added';
    const lock = definitionLockName(this.config.database, this.table);
    const [[got]] = await connection.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [
      lock,
      DDL_LOCK_WAIT_SECONDS * 5,
    ]);
    if (Number(got?.['got']) !== 1) {
      return this.notAdded('another process held the lock on its definition; tried again in a minute', true);
    }
    try {
      const fresh = (await readTable(connection, this.table)) ?? found;
      const still = writtenColumnsOf(fresh).missing;
      if (still.length === 0) return 'added';
      await connection.query(`SET SESSION lock_wait_timeout = ${DDL_LOCK_WAIT_SECONDS}`);
      try {
        await connection.query(addColumnsSql(this.table, still, instant));
      } finally {
        await connection.query('SET SESSION lock_wait_timeout = DEFAULT');
      }
      this.missing.added();
      diag.info(
        `llamonitor mysql: added ${still.map((c) => c.name).join(', ')} to ${this.qualified()} on ${this.target}`,
      );
      return 'added';
    } catch (error) {
      const errno = (error as { errno?: number } | null)?.errno ?? 0;
      if (errno === LOCK_WAIT_TIMEOUT) {
        return this.notAdded(
          `another transaction held the table for more than ${DDL_LOCK_WAIT_SECONDS} s; tried again in a minute`,
          true,
        );
      }
      if (MAY_NOT_ALTER.has(errno))
        return this.notAdded(`user ${this.config.user ?? '(default)'} may not ALTER it`);
      if (NOT_INSTANT.has(errno))
        return this.notAdded('the server cannot add them without copying the table');
      throw error;
    } finally {
      await connection.query('SELECT RELEASE_LOCK(?)', [lock]);
    }
  }

  /** addMissingColumns on a server that adds them instantly: the sink never copies a table unasked. */
  private async addColumnsInstantly(
    connection: PoolConnection,
    found: FoundTable,
    capabilities: ServerCapabilities,
  ): Promise<'added' | string> {
    if (!capabilities.instantAddColumn) {
      return this.notAdded(`${capabilities.version} cannot add columns without copying the table`);
    }
    return this.addMissingColumns(connection, found, true);
  }

  /** Notes why the columns were not added (`retry`: a write tries again a minute later) and returns it. */
  private notAdded(why: string, retry = false): string {
    this.missing.failed(why, retry);
    return why;
  }

  /** The retry after a lock timeout (MissingColumns.retryIfDue runs it). */
  private async addColumnsLater(): Promise<void> {
    const { pool, capabilities } = await this.connect();
    await withConnection(pool, async (connection) => {
      await this.addColumnsInstantly(connection, await this.mustReadTable(connection), capabilities);
      this.know(await this.mustReadTable(connection));
    });
  }

  /** Builds the writers of the columns the table has; warns once when it lacks some. */
  private know(found: FoundTable): Writers {
    const connected = this.connectedNow;
    if (!connected) throw new ConnectionError(`MySQL sink for ${this.target} is not connected`);
    const written = writtenColumnsOf(found);
    const packet = connected.capabilities.maxAllowedPacket;
    this.writers = {
      written,
      loadData: new LoadDataWriter(this.table, packet, written),
      insert: new InsertWriter(this.table, connected.escape, packet, written),
    };
    this.missing.warnIfMissing(written, this.qualified(), this.target);
    return this.writers;
  }
}
