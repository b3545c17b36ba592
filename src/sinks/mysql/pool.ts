/**
 * The mysql2 promise pool: the one module that loads the driver. mysql2 is an
 * optional peer dependency, imported here only when a mysql:// URL is used.
 */
import { diag } from '@opentelemetry/api';
import type { Pool, PoolConnection, PoolOptions } from 'mysql2/promise';
import type { MySqlConnectionConfig } from './connection-config.js';
import { destroyOnAbort, driverSocketOf, unlessAborted } from '../abort.js';
import { importDriver } from '../load-driver.js';
import { describeMySqlError } from './errors.js';

export type MySqlDriver = typeof import('mysql2/promise');

let driver: Promise<MySqlDriver> | undefined;

/** mysql2/promise, loaded on first use; a ConfigError that says how to install it when missing. */
export function loadMySqlDriver(): Promise<MySqlDriver> {
  driver ??= importDriver('MySQL', ['mysql2'], () => import('mysql2/promise')).then(
    (module) => (module as MySqlDriver & { default?: MySqlDriver }).default ?? module,
    (error: unknown) => {
      driver = undefined;
      throw error;
    },
  );
  return driver;
}

/**
 * Drops NO_BACKSLASH_ESCAPES from the session's sql_mode, wherever it sits in the list: both
 * the driver's escaping and the LOAD DATA encoder rely on backslash escapes meaning what they say.
 */
export const BACKSLASH_ESCAPES_SQL =
  "SET SESSION sql_mode = REPLACE(REPLACE(REPLACE(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES', ''), 'NO_BACKSLASH_ESCAPES,', ''), 'NO_BACKSLASH_ESCAPES', '')";

export interface OpenPool {
  readonly pool: Pool;
  /** Whether connections use TLS (ssl-mode=preferred settles it against the server). */
  readonly tls: boolean;
}

/** Opens the pool and one connection through it, so that a wrong password or host fails here, clearly. */
export async function openPool(config: MySqlConnectionConfig, poolSize: number): Promise<OpenPool> {
  const mysql = await loadMySqlDriver();
  const base: PoolOptions = {
    queryFormat: formatOnlyWithValues(mysql),
    ...config.options,
    connectionLimit: poolSize,
    maxIdle: poolSize,
    waitForConnections: true,
    enableKeepAlive: true,
  };
  const withTls: PoolOptions = config.tlsOptions ? { ...base, ssl: config.tlsOptions } : base;
  try {
    return { pool: await tryPool(mysql, withTls), tls: config.tlsOptions !== undefined };
  } catch (error) {
    if (config.tlsMode === 'preferred' && (error as { code?: string }).code === 'HANDSHAKE_NO_SSL_SUPPORT') {
      diag.debug(`llamonitor mysql: ${config.target} offers no TLS; ssl-mode=preferred goes on without it`);
      try {
        return { pool: await tryPool(mysql, base), tls: false };
      } catch (plainError) {
        throw describeMySqlError(plainError, 'connect to', config);
      }
    }
    throw describeMySqlError(error, 'connect to', config);
  }
}

/**
 * mysql2 scans every statement for placeholders, values or not: a multi-row INSERT of
 * 1 MiB of escaped text costs a full scan. A statement without values goes as it is.
 */
function formatOnlyWithValues(mysql: MySqlDriver): NonNullable<PoolOptions['queryFormat']> {
  return (sql: string, values: unknown) =>
    values === undefined || (Array.isArray(values) && values.length === 0)
      ? sql
      : mysql.format(sql, values as Parameters<MySqlDriver['format']>[1], false, 'Z');
}

async function tryPool(mysql: MySqlDriver, options: PoolOptions): Promise<Pool> {
  const pool = mysql.createPool(options);
  // An idle connection must not keep the application alive (pg's allowExitOnIdle does the same);
  // one in use holds it until its query settles.
  pool.on('acquire', (connection) => socketOf(connection)?.ref());
  pool.on('release', (connection) => socketOf(connection)?.unref());
  pool.on('connection', (connection) => {
    socketOf(connection)?.unref();
    // Queued ahead of whatever the new connection was acquired for.
    (connection as unknown as CoreConnection).query(BACKSLASH_ESCAPES_SQL, (error) => {
      if (error)
        diag.warn(`llamonitor mysql: could not reset sql_mode on a new connection: ${error.message}`);
    });
  });
  try {
    const connection = await pool.getConnection();
    connection.release();
    return pool;
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
}

function socketOf(connection: unknown): { ref(): void; unref(): void } | undefined {
  return (connection as { stream?: { ref(): void; unref(): void } }).stream;
}

/** The callback-style connection the pool's 'connection' event hands over. */
interface CoreConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
}

/** Runs `work` on one connection of the pool and gives it back; `signal` as for Sink.write. */
export async function withConnection<T>(
  pool: Pool,
  work: (connection: PoolConnection) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const connection = await unlessAborted(pool.getConnection(), signal, (late) => late.release());
  try {
    return await destroyOnAbort(driverSocketOf(connection), signal, () => work(connection));
  } finally {
    if (signal?.aborted) connection.destroy();
    else connection.release();
  }
}

/**
 * Runs `work` in one transaction on one connection: committed when it resolves,
 * rolled back when it throws. A connection whose rollback fails is destroyed, not
 * reused; so is one whose work `signal` aborted (see Sink.write).
 */
export async function inTransaction<T>(
  pool: Pool,
  work: (connection: PoolConnection) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const connection = await unlessAborted(pool.getConnection(), signal, (late) => late.release());
  try {
    const result = await destroyOnAbort(driverSocketOf(connection), signal, async () => {
      await connection.query('START TRANSACTION');
      const done = await work(connection);
      await connection.query('COMMIT');
      return done;
    });
    connection.release();
    return result;
  } catch (error) {
    try {
      if (signal?.aborted) throw error;
      await connection.query('ROLLBACK');
      connection.release();
    } catch {
      connection.destroy();
    }
    throw error;
  }
}
