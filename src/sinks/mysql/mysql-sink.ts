/**
 * The MySQL / MariaDB sink: lifecycle only. Connecting, detecting the bulk
 * path, creating and checking the table, and handing each batch to the writer
 * of that path inside one transaction.
 */
import { diag } from '@opentelemetry/api';
import type { Pool, PoolOptions } from 'mysql2/promise';
import type { MetricEvent } from '../../schema/columns.js';
import { assertIdentifier } from '../../schema/identifier.js';
import type { Sink, SinkOptions } from '../sink.js';
import { detectCapabilities, type BulkPath, type ServerCapabilities } from './capabilities.js';
import { parseMySqlUrl, type MySqlConnectionConfig } from './connection-config.js';
import { createTableSql } from './ddl.js';
import { ConfigError, ConnectionError } from '../../errors.js';
import { describeMySqlError } from './errors.js';
import { InsertWriter } from './insert-writer.js';
import { isLocalInfileRefused, LoadDataWriter } from './load-data-writer.js';
import { inTransaction, loadMySqlDriver, openPool, withConnection } from './pool.js';
import { deleteRowsById, readRowsById } from './read-back.js';
import { checkTableSchema, readTable } from './table-schema.js';

export interface MySqlSinkOptions extends SinkOptions {
  /** mysql2 options merged over those the URL gives, for what a URL cannot say (e.g. a custom `ssl` object). */
  readonly driverOptions?: PoolOptions | undefined;
}

interface Connected {
  readonly pool: Pool;
  readonly capabilities: ServerCapabilities;
  readonly loadData: LoadDataWriter;
  readonly insert: InsertWriter;
}

export class MySqlSink implements Sink {
  readonly kind = 'mysql' as const;
  readonly target: string;
  private readonly config: MySqlConnectionConfig;
  private readonly table: string;
  private connected: Promise<Connected> | undefined;
  private prepared: Promise<void> | undefined;
  private bulkPath: BulkPath | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  /** Checks the URL (or takes it checked) and the table name at once; connects on prepare() or the first write. */
  constructor(
    url: string | MySqlConnectionConfig,
    private readonly options: MySqlSinkOptions,
  ) {
    this.table = assertIdentifier('table name', options.table);
    const config = typeof url === 'string' ? parseMySqlUrl(url) : url;
    this.config = { ...config, options: { ...config.options, ...options.driverOptions } };
    this.target = this.config.target;
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
    await this.track(this.writeRows(rows, signal));
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
      return await withConnection(pool, (connection) => readRowsById(connection, this.table, eventIds));
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
      return {
        pool,
        capabilities,
        loadData: new LoadDataWriter(this.table, capabilities.maxAllowedPacket),
        insert: new InsertWriter(
          this.table,
          (value) => mysql.escape(value as Parameters<typeof mysql.escape>[0]),
          capabilities.maxAllowedPacket,
        ),
      };
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw describeMySqlError(error, 'read the settings of', this.config);
    }
  }

  private async prepareTable(): Promise<void> {
    const { pool } = await this.connect();
    const qualified = `\`${this.config.database}\`.\`${this.table}\``;
    try {
      await withConnection(pool, async (connection) => {
        let found = await readTable(connection, this.table);
        if (!found) {
          if (!this.options.createTable) {
            throw new ConfigError(
              `MySQL table ${qualified} on ${this.target} does not exist and table creation is off: ` +
                'create it with "llamonitor migrate", or set LLAMONITOR_CREATE_TABLE=true',
            );
          }
          await connection.query(createTableSql(this.table));
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
      });
    } catch (error) {
      throw describeMySqlError(error, `prepare table ${qualified} on`, this.config, this.table);
    }
  }

  private async writeRows(rows: readonly MetricEvent[], signal: AbortSignal | undefined): Promise<void> {
    const { pool, loadData, insert } = await this.connect();
    try {
      if (this.bulkPath === 'load-data') {
        try {
          await inTransaction(pool, (connection) => loadData.write(connection, rows), signal);
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
      await inTransaction(pool, (connection) => insert.write(connection, rows), signal);
    } catch (error) {
      throw describeMySqlError(
        error,
        `write ${rows.length} rows to \`${this.table}\` on`,
        this.config,
        this.table,
      );
    }
  }
}
