/**
 * A `postgres://` URL turned into node-postgres pool settings. `sslmode` and its
 * companions keep libpq's meaning (what psql and the Python project's asyncpg
 * do), which pg 8 does not: it treats `require` as `verify-full` and cannot
 * fall back from TLS to plain text for `prefer`. So the TLS parameters are taken
 * out of the URL here and become a list of TLS settings to try in order.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import { maskUrl, passwordOf } from '../../config/connection-url.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** One way to open a connection: `false` for plain text, else Node's TLS options. */
export type TlsAttempt = false | ConnectionOptions;

export interface PostgresConnectionConfig {
  /** pg's pool settings, without `ssl`: the working TLS attempt supplies it. */
  readonly pool: pg.PoolConfig;
  /** What to try, in order, until the server accepts one (libpq's sslmode). */
  readonly tlsAttempts: readonly TlsAttempt[];
  readonly sslmode: SslMode;
  /** The URL with its password masked, for messages. */
  readonly target: string;
  /** The user name in the URL, for hints such as GRANT statements. */
  readonly user: string | undefined;
  /** Values no message may show: the password and the TLS key's passphrase. */
  readonly secrets: readonly string[];
}

export class ConnectionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionConfigError';
  }
}

/** libpq parameters this module reads and removes before pg sees the URL. */
const TLS_PARAMETERS = [
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslpassword',
  'ssl',
  'uselibpqcompat',
];
/** Parameters pg reads from the URL itself. */
const PG_PARAMETERS = new Set([
  'host',
  'port',
  'user',
  'password',
  'options',
  'application_name',
  'fallback_application_name',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
  'sslnegotiation',
]);
const DEFAULT_CONNECT_TIMEOUT_MILLIS = 15_000;

/**
 * Pool settings for `url`. Reads the certificate files it names; throws a
 * ConnectionConfigError naming the parameter when one is wrong.
 * `env` supplies libpq's PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY when the URL has none.
 */
export function postgresConnectionConfig(
  url: string,
  poolSize: number,
  env: NodeJS.ProcessEnv = process.env,
): PostgresConnectionConfig {
  const target = maskUrl(url);
  const parsed = parseUrl(url);
  if (!parsed) {
    throw new ConnectionConfigError(
      `invalid PostgreSQL URL ${target}: expected postgres://user:password@host:port/database`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConnectionConfigError(`${target} is not a PostgreSQL URL: it must start with postgres://`);
  }
  const params = parsed.searchParams;
  const setting = (name: string): string | undefined =>
    params.get(name) ?? (env[`PG${name.toUpperCase()}`] || undefined);

  const sslmode = sslModeOf(params, env, target);
  const files = {
    ca: readPemFile(setting('sslrootcert'), 'sslrootcert', target),
    cert: readPemFile(setting('sslcert'), 'sslcert', target),
    key: readPemFile(setting('sslkey'), 'sslkey', target),
  };
  const passphrase = params.get('sslpassword') ?? undefined;
  const tls: ConnectionOptions = {
    ...(files.cert === undefined ? {} : { cert: files.cert }),
    ...(files.key === undefined ? {} : { key: files.key }),
    ...(passphrase === undefined ? {} : { passphrase }),
  };
  const systemCa = setting('sslrootcert') === 'system';
  const unverified: ConnectionOptions = { ...tls, rejectUnauthorized: false };
  const verifyCa: ConnectionOptions = { ...tls, ca: files.ca, checkServerIdentity: () => undefined };
  const verifyFull: ConnectionOptions = { ...tls, ...(files.ca === undefined ? {} : { ca: files.ca }) };

  let tlsAttempts: TlsAttempt[];
  switch (sslmode) {
    case 'disable':
      tlsAttempts = [false];
      break;
    case 'allow':
      tlsAttempts = [false, unverified];
      break;
    case 'prefer':
      tlsAttempts = [unverified, false];
      break;
    case 'require':
      // libpq: with a root certificate, require checks the chain as verify-ca does.
      tlsAttempts = [systemCa ? verifyFull : files.ca === undefined ? unverified : verifyCa];
      break;
    case 'verify-ca':
      if (files.ca === undefined && !systemCa) {
        throw new ConnectionConfigError(
          `sslmode=verify-ca in ${target} needs sslrootcert=<file of the CA that signed the server's certificate>, ` +
            `or use sslmode=verify-full to check against the system's CAs`,
        );
      }
      tlsAttempts = [systemCa ? verifyFull : verifyCa];
      break;
    case 'verify-full':
      tlsAttempts = [verifyFull];
      break;
  }

  for (const name of TLS_PARAMETERS) params.delete(name);
  const connectTimeout = params.get('connect_timeout');
  params.delete('connect_timeout');
  params.delete('client_encoding');
  for (const name of params.keys()) {
    if (!PG_PARAMETERS.has(name)) {
      throw new ConnectionConfigError(
        `the PostgreSQL URL ${target} has a parameter the sink does not know: ${name}. ` +
          `Known: sslmode, sslrootcert, sslcert, sslkey, sslpassword, connect_timeout, ${[...PG_PARAMETERS].join(', ')}`,
      );
    }
  }
  // COPY sends UTF-8 bytes; pg does not ask for UTF8, so a database with another default would misread them.
  const options = [params.get('options'), '-c client_encoding=UTF8'].filter(Boolean).join(' ');
  params.delete('options');

  const pool: pg.PoolConfig = {
    connectionString: parsed.toString(),
    options,
    fallback_application_name: 'llamonitor-otel',
    max: poolSize,
    connectionTimeoutMillis: connectTimeoutMillis(connectTimeout, target),
    keepAlive: true,
    // An idle pool must not keep the application's process alive.
    allowExitOnIdle: true,
  };
  const password = passwordOf(url);
  return {
    pool,
    tlsAttempts,
    sslmode,
    target,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    secrets: [password, passphrase].filter((s): s is string => Boolean(s)),
  };
}

/** The URL, also in the form `postgres://user@/db?host=/socket/dir` that WHATWG URLs refuse (no host). */
function parseUrl(url: string): URL | undefined {
  for (const candidate of [url, url.replace('@/', '@localhost/')]) {
    try {
      return new URL(candidate);
    } catch {
      // try the next form
    }
  }
  return undefined;
}

function sslModeOf(params: URLSearchParams, env: NodeJS.ProcessEnv, target: string): SslMode {
  // pg's own `ssl=true` means a verified connection; `ssl=no-verify` an unverified one.
  const ssl = params.get('ssl');
  const fromSsl =
    ssl === null
      ? undefined
      : ssl === 'true' || ssl === '1'
        ? 'verify-full'
        : ssl === 'no-verify'
          ? 'require'
          : ssl === 'false' || ssl === '0'
            ? 'disable'
            : ssl;
  // pg-connection-string's spelling for libpq's require.
  const value = params.get('sslmode') ?? fromSsl ?? (env.PGSSLMODE || 'prefer');
  const mode = value === 'no-verify' ? 'require' : value;
  if (!(SSL_MODES as readonly string[]).includes(mode)) {
    throw new ConnectionConfigError(
      `invalid sslmode "${value}" in ${target}: use one of ${SSL_MODES.join(', ')} (libpq's meanings; default prefer)`,
    );
  }
  return mode as SslMode;
}

function readPemFile(path: string | undefined, parameter: string, target: string): string | undefined {
  if (path === undefined || path === 'system') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConnectionConfigError(
      `cannot read ${parameter}=${path} given in ${target}: ${(error as Error).message}. ` +
        `Point ${parameter} at a readable PEM file.`,
    );
  }
}

function connectTimeoutMillis(value: string | null, target: string): number {
  if (value === null) return DEFAULT_CONNECT_TIMEOUT_MILLIS;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new ConnectionConfigError(
      `invalid connect_timeout "${value}" in ${target}: give whole seconds (0 waits forever)`,
    );
  }
  return seconds === 0 ? 0 : Math.max(seconds, 2) * 1000;
}
