/**
 * Opens the pool with the first TLS setting the server accepts: libpq's
 * `prefer` tries TLS, then plain text when the server has no TLS; `allow` the
 * other way round. Other modes have one setting and need no probe.
 */
import { diag } from '@opentelemetry/api';
import pg from 'pg';
import { redactSecrets } from '../../secrets.js';
import type { PostgresConnectionConfig, TlsAttempt } from './connection-config.js';
import { sqlState } from './errors.js';

export async function openPool(config: PostgresConnectionConfig, poolSize: number): Promise<pg.Pool> {
  const attempts = config.tlsAttempts;
  for (let i = 0; i < attempts.length - 1; i++) {
    const ssl = attempts[i] as TlsAttempt;
    const probe = new pg.Client({ ...config.pool, ssl });
    try {
      await probe.connect();
      await probe.end();
      return createPool(config, poolSize, ssl);
    } catch (error) {
      await probe.end().catch(() => undefined);
      if (!worthNextAttempt(ssl, error)) throw error;
      diag.debug(
        `llamonitor: PostgreSQL at ${config.target} refused ${ssl ? 'TLS' : 'plain text'} ` +
          `(sslmode=${config.sslmode}); trying ${ssl ? 'plain text' : 'TLS'}`,
      );
    }
  }
  return createPool(config, poolSize, attempts[attempts.length - 1] as TlsAttempt);
}

function worthNextAttempt(ssl: TlsAttempt, error: unknown): boolean {
  if (ssl) return /does not support SSL/i.test((error as Error).message);
  // pg_hba.conf rejects a plain connection where only hostssl lines match.
  return sqlState(error) === '28000';
}

function createPool(config: PostgresConnectionConfig, poolSize: number, ssl: TlsAttempt): pg.Pool {
  const pool = new pg.Pool({ ...config.pool, max: poolSize, ssl });
  // An idle connection that breaks (server restart, network) must not crash the application.
  pool.on('error', (error) => {
    diag.warn(
      `llamonitor: an idle PostgreSQL connection to ${config.target} failed: ` +
        redactSecrets(error.message, config.secrets),
    );
  });
  return pool;
}
