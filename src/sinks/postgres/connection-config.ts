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
import { closestName } from '../../closest-name.js';
import { ConfigError } from '../../errors.js';
import { maskUrl, secretsOfUrl } from '../../secrets.js';
import { decodedPart, parseServerUrl } from '../server-url.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** One way to open a connection: `false` for plain text, else Node's TLS options. */
export type TlsAttempt = false | ConnectionOptions;

export interface PostgresConnectionConfig {
  /** pg's pool settings, without `ssl` (the working TLS attempt supplies it) and `max` (the pool size). */
  readonly pool: pg.PoolConfig;
  /** What to try, in order, until the server accepts one (libpq's sslmode). */
  readonly tlsAttempts: readonly TlsAttempt[];
  readonly sslmode: SslMode;
  /** The URL with its password masked, for messages. */
  readonly target: string;
  /** The user name in the URL, for hints such as GRANT statements. */
  readonly user: string | undefined;
  /** Values no message may show, in every form: the password, the TLS key's passphrase. */
  readonly secrets: readonly string[];
}

const EXAMPLE = 'postgres://user:password@host:5432/database';

/** libpq's TLS parameters: this module reads and removes them before pg sees the URL. */
const TLS_PARAMETERS = [
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslpassword',
  'ssl',
  'uselibpqcompat',
];
/** Parameters read here and removed before pg sees the URL. */
const OWN_PARAMETERS = [...TLS_PARAMETERS, 'connect_timeout', 'client_encoding', 'options'];
/** Parameters pg reads from the URL itself, with the check of each value. */
const PG_PARAMETERS: Readonly<Record<string, (value: string) => string | undefined>> = {
  host: () => undefined,
  port: (value) => wholeNumber(value, 1, 65_535),
  user: () => undefined,
  password: () => undefined,
  application_name: () => undefined,
  fallback_application_name: () => undefined,
  statement_timeout: (value) => wholeNumber(value, 0, 2_147_483_647, 'milliseconds'),
  lock_timeout: (value) => wholeNumber(value, 0, 2_147_483_647, 'milliseconds'),
  idle_in_transaction_session_timeout: (value) => wholeNumber(value, 0, 2_147_483_647, 'milliseconds'),
  query_timeout: (value) => wholeNumber(value, 0, 2_147_483_647, 'milliseconds'),
  sslnegotiation: (value) =>
    ['postgres', 'direct'].includes(value) ? undefined : "use 'postgres' or 'direct'",
};
/** Every parameter a PostgreSQL URL may hold, for messages. */
const POSTGRES_PARAMETERS: readonly string[] = [...OWN_PARAMETERS, ...Object.keys(PG_PARAMETERS)];
const DEFAULT_CONNECT_TIMEOUT_MILLIS = 15_000;

/** Undefined when `value` is a whole number from `min` to `max`, else what to give instead. */
function wholeNumber(value: string, min: number, max: number, unit = ''): string | undefined {
  const n = Number(value);
  if (/^\d+$/.test(value) && n >= min && n <= max) return undefined;
  return `give a whole number${unit ? ` of ${unit}` : ''} from ${min} to ${max}`;
}

/**
 * Pool settings for `url`, every parameter checked. Reads the certificate
 * files it names; throws a ConfigError naming the parameter when one is wrong,
 * which never holds the URL (the caller shows it masked).
 * `env` supplies libpq's PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY when the URL has none.
 */
export function postgresConnectionConfig(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
): PostgresConnectionConfig {
  const target = maskUrl(url);
  const parsed = parseServerUrl(withSocketHost(url), EXAMPLE);
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`not a PostgreSQL URL: it must start with postgres:// or postgresql://`);
  }
  const params = parsed.searchParams;
  checkParameters(params);
  const setting = (name: string): string | undefined =>
    params.get(name) ?? (env[`PG${name.toUpperCase()}`] || undefined);

  const sslmode = sslModeOf(params, env);
  const files = {
    ca: readPemFile(setting('sslrootcert'), 'sslrootcert'),
    cert: readPemFile(setting('sslcert'), 'sslcert'),
    key: readPemFile(setting('sslkey'), 'sslkey'),
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
        throw new ConfigError(
          `sslmode=verify-ca needs sslrootcert=<file of the CA that signed the server's certificate>, ` +
            `or use sslmode=verify-full to check against the system's CAs`,
        );
      }
      tlsAttempts = [systemCa ? verifyFull : verifyCa];
      break;
    case 'verify-full':
      tlsAttempts = [verifyFull];
      break;
  }

  const connectTimeout = params.get('connect_timeout');
  // COPY sends UTF-8 bytes; pg does not ask for UTF8, so a database with another default would misread them.
  const options = [params.get('options'), '-c client_encoding=UTF8'].filter(Boolean).join(' ');
  for (const name of OWN_PARAMETERS) params.delete(name);

  const pool: pg.PoolConfig = {
    connectionString: parsed.toString(),
    options,
    fallback_application_name: 'llamonitor-otel',
    connectionTimeoutMillis: connectTimeoutMillis(connectTimeout),
    keepAlive: true,
    // An idle pool must not keep the application's process alive.
    allowExitOnIdle: true,
  };
  return {
    pool,
    tlsAttempts,
    sslmode,
    target,
    user: parsed.username ? decodedPart(parsed.username) : undefined,
    secrets: [...secretsOfUrl(url), ...(env.PGPASSWORD ? [env.PGPASSWORD] : [])],
  };
}

/** The form `postgres://user@/db?host=/socket/dir`, which WHATWG URLs refuse (no host), with a stand-in host. */
function withSocketHost(url: string): string {
  return /^[a-z]+:\/\/[^/?#]*@\//i.test(url) ? url.replace('@/', '@localhost/') : url;
}

/** Refuses a parameter the sink does not know, naming the closest it knows, and a value it cannot use. */
function checkParameters(params: URLSearchParams): void {
  for (const [name, value] of params) {
    if (!POSTGRES_PARAMETERS.includes(name)) {
      throw new ConfigError(
        `unknown parameter ${name} (did you mean ${closestName(name, POSTGRES_PARAMETERS)}?); ` +
          `a PostgreSQL URL takes ${POSTGRES_PARAMETERS.join(', ')}`,
      );
    }
    const problem = PG_PARAMETERS[name]?.(value);
    if (problem) throw new ConfigError(`${name}=${value} is not allowed: ${problem}`);
  }
  const encoding = params.get('client_encoding');
  if (encoding !== null && !/^utf-?8$/i.test(encoding)) {
    throw new ConfigError(`client_encoding=${encoding} is not allowed: the sink always speaks UTF8`);
  }
  const compat = params.get('uselibpqcompat');
  if (compat !== null && !['true', 'false'].includes(compat)) {
    throw new ConfigError(`uselibpqcompat=${compat} is not allowed: use true or false`);
  }
}

/** pg's own `ssl` parameter in libpq's terms: `true` verifies fully, `no-verify` encrypts without checking. */
const SSL_AS_MODE: Readonly<Record<string, string>> = {
  true: 'verify-full',
  '1': 'verify-full',
  'no-verify': 'require',
  false: 'disable',
  '0': 'disable',
};

/** The sslmode from the URL (sslmode, else ssl), else PGSSLMODE, else libpq's default prefer. */
function sslModeOf(params: URLSearchParams, env: NodeJS.ProcessEnv): SslMode {
  const sslmode = params.get('sslmode');
  const ssl = params.get('ssl');
  const [name, value] =
    sslmode !== null
      ? ['sslmode', sslmode]
      : ssl !== null
        ? ['ssl', ssl]
        : ['PGSSLMODE', env.PGSSLMODE || 'prefer'];
  // `no-verify` is pg-connection-string's spelling of libpq's require.
  const mode = name === 'ssl' ? SSL_AS_MODE[value] : value === 'no-verify' ? 'require' : value;
  if (mode === undefined || !(SSL_MODES as readonly string[]).includes(mode)) {
    const allowed =
      name === 'ssl'
        ? 'use true, no-verify or false, or sslmode'
        : `use one of ${SSL_MODES.join(', ')} (libpq's meanings; default prefer)`;
    throw new ConfigError(`${name}=${value} is not allowed: ${allowed}`);
  }
  return mode as SslMode;
}

function readPemFile(path: string | undefined, parameter: string): string | undefined {
  if (path === undefined || path === 'system') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(
      `cannot read ${parameter}=${path} (${reason}): point ${parameter} at a readable PEM file`,
    );
  }
}

function connectTimeoutMillis(value: string | null): number {
  if (value === null) return DEFAULT_CONNECT_TIMEOUT_MILLIS;
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(seconds)) {
    throw new ConfigError(`connect_timeout=${value} is not allowed: give whole seconds (0 waits forever)`);
  }
  return seconds === 0 ? 0 : Math.max(seconds, 2) * 1000;
}
