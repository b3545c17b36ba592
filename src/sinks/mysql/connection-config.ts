/**
 * A `mysql://` URL turned into mysql2 pool options. Pure: no driver, no I/O but
 * reading the certificate files a URL names. Parameters follow the MySQL
 * client's option names (`ssl-mode`, `ssl-ca`, ...); an unknown one is an error.
 */
import { readFileSync } from 'node:fs';
import type { PoolOptions, SslOptions } from 'mysql2/promise';
import { closestName } from '../../closest-name.js';
import { ConfigError } from '../../errors.js';
import { maskUrl, secretsOfUrl } from '../../secrets.js';
import { decodedPart, parseServerUrl } from '../server-url.js';

/** The MySQL client's --ssl-mode values. */
export type TlsMode = 'disabled' | 'preferred' | 'required' | 'verify_ca' | 'verify_identity';
const TLS_MODES: readonly TlsMode[] = ['disabled', 'preferred', 'required', 'verify_ca', 'verify_identity'];

const PARAMETERS = [
  'ssl-mode',
  'ssl',
  'ssl-ca',
  'ssl-cert',
  'ssl-key',
  'connect-timeout',
  'socket',
  'local-infile',
] as const;
type Parameter = (typeof PARAMETERS)[number];

export interface MySqlConnectionConfig {
  /** Everything mysql2 needs but `ssl` (see tlsOptions) and pool sizing. */
  readonly options: PoolOptions;
  readonly tlsMode: TlsMode;
  /** mysql2's `ssl` option for this mode; undefined when TLS is disabled. */
  readonly tlsOptions: SslOptions | undefined;
  /** False when the URL says `local-infile=0`: never use LOAD DATA LOCAL. */
  readonly localInfile: boolean;
  readonly database: string;
  readonly user: string;
  /** host:port, or the socket path. */
  readonly address: string;
  /** The URL with its password masked, for messages. */
  readonly target: string;
  /** Every form of the password, so that messages can be scrubbed of it. */
  readonly secrets: readonly string[];
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const EXAMPLE = 'mysql://user:password@host:3306/database';

/**
 * Parses a `mysql://` (or `mariadb://`) URL, every parameter checked; throws a
 * ConfigError naming the problem, which never holds the URL (the caller shows it masked).
 */
export function parseMySqlUrl(url: string): MySqlConnectionConfig {
  const target = maskUrl(url);
  const parsed = parseServerUrl(url, EXAMPLE);
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new ConfigError(`not a MySQL URL: it must start with mysql:// or mariadb://`);
  }
  let database: string;
  try {
    database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  } catch {
    throw new ConfigError(`the database name holds a % that is not percent-encoding: write % as %25`);
  }
  if (!database || database.includes('/')) {
    throw new ConfigError(`name one database as the path, e.g. ${EXAMPLE.replace('database', 'monitoring')}`);
  }
  const params = readParameters(parsed);
  const tlsMode = tlsModeOf(params);
  const user = decodedPart(parsed.username) || 'root';
  const password = parsed.password ? decodedPart(parsed.password) : undefined;
  const socketPath = params.get('socket');
  const port = parsed.port ? Number(parsed.port) : 3306;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';

  const options: PoolOptions = {
    user,
    password,
    database,
    ...(socketPath ? { socketPath } : { host, port }),
    connectTimeout: connectTimeoutOf(params),
    charset: 'UTF8MB4_UNICODE_CI',
    // DATETIME read back as text keeps its microseconds; Date parameters are never sent.
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    multipleStatements: false,
  };
  return {
    options,
    tlsMode,
    tlsOptions: tlsOptionsFor(tlsMode, params),
    localInfile: booleanParameter(params, 'local-infile') ?? true,
    database,
    user,
    address: socketPath ?? `${host}:${port}`,
    target,
    secrets: secretsOfUrl(url),
  };
}

/** The URL's parameters under their dashed names; an unknown one is refused, naming the closest known. */
function readParameters(parsed: URL): Map<Parameter, string> {
  const params = new Map<Parameter, string>();
  for (const [rawKey, value] of parsed.searchParams) {
    const key = rawKey.toLowerCase().replaceAll('_', '-');
    if (!(PARAMETERS as readonly string[]).includes(key)) {
      throw new ConfigError(
        `unknown parameter ${rawKey} (did you mean ${closestName(key, PARAMETERS)}?); ` +
          `a MySQL URL takes ${PARAMETERS.join(', ')}`,
      );
    }
    if (params.has(key as Parameter)) throw new ConfigError(`${key} is given twice: give it once`);
    params.set(key as Parameter, value);
  }
  return params;
}

function booleanParameter(params: Map<Parameter, string>, name: Parameter): boolean | undefined {
  const value = params.get(name);
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(lower)) return true;
  if (['0', 'false', 'off', 'no'].includes(lower)) return false;
  throw new ConfigError(`${name}=${value} is not allowed: use 1 or 0 (true or false)`);
}

function tlsModeOf(params: Map<Parameter, string>): TlsMode {
  const raw = params.get('ssl-mode');
  const ssl = booleanParameter(params, 'ssl');
  if (raw !== undefined && ssl !== undefined) {
    throw new ConfigError('give either ssl-mode or ssl, not both');
  }
  if (raw !== undefined) {
    const mode = raw.toLowerCase().replaceAll('-', '_') as TlsMode;
    if (!TLS_MODES.includes(mode)) {
      throw new ConfigError(`ssl-mode=${raw} is not allowed: use one of ${TLS_MODES.join(', ')}`);
    }
    return mode;
  }
  if (ssl !== undefined) return ssl ? 'required' : 'disabled';
  // As the MySQL client does: a CA given without a mode means "verify the server against it".
  return params.has('ssl-ca') ? 'verify_ca' : 'disabled';
}

function tlsOptionsFor(mode: TlsMode, params: Map<Parameter, string>): SslOptions | undefined {
  const files = { ca: params.get('ssl-ca'), cert: params.get('ssl-cert'), key: params.get('ssl-key') };
  if (mode === 'disabled') {
    if (files.ca || files.cert || files.key) {
      throw new ConfigError('ssl-ca, ssl-cert and ssl-key need TLS, but ssl-mode is disabled');
    }
    return undefined;
  }
  if (Boolean(files.cert) !== Boolean(files.key)) {
    throw new ConfigError('ssl-cert and ssl-key go together: give both or neither');
  }
  const verify = mode === 'verify_ca' || mode === 'verify_identity';
  return {
    rejectUnauthorized: verify,
    verifyIdentity: mode === 'verify_identity',
    ...(files.ca ? { ca: readPem(files.ca, 'ssl-ca') } : {}),
    ...(files.cert ? { cert: readPem(files.cert, 'ssl-cert') } : {}),
    ...(files.key ? { key: readPem(files.key, 'ssl-key') } : {}),
  };
}

function readPem(path: string, parameter: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`${parameter}=${path} cannot be read (${reason}): give a readable PEM file`);
  }
}

function connectTimeoutOf(params: Map<Parameter, string>): number {
  const raw = params.get('connect-timeout');
  if (raw === undefined) return DEFAULT_CONNECT_TIMEOUT_MS;
  const seconds = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new ConfigError(`connect-timeout=${raw} is not allowed: give a number of seconds above 0`);
  }
  return Math.round(seconds * 1000);
}
