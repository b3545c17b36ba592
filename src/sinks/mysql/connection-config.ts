/**
 * A `mysql://` URL turned into mysql2 pool options. Pure: no driver, no I/O but
 * reading the certificate files a URL names. Parameters follow the MySQL
 * client's option names (`ssl-mode`, `ssl-ca`, ...); an unknown one is an error.
 */
import { readFileSync } from 'node:fs';
import type { PoolOptions, SslOptions } from 'mysql2/promise';
import { maskUrl, passwordOf } from '../../config/connection-url.js';

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
  /** The password, so that messages can be scrubbed of it. */
  readonly password: string | undefined;
}

export class MySqlUrlError extends Error {
  constructor(target: string, problem: string) {
    super(`invalid MySQL URL ${target}: ${problem}`);
    this.name = 'MySqlUrlError';
  }
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Parses a `mysql://user:password@host:port/database?ssl-mode=...` URL; throws MySqlUrlError naming the problem. */
export function parseMySqlUrl(url: string): MySqlConnectionConfig {
  const target = maskUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MySqlUrlError(target, 'not a URL; expected mysql://user:password@host:3306/database');
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new MySqlUrlError(target, `scheme ${parsed.protocol} is not mysql:`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database || database.includes('/')) {
    throw new MySqlUrlError(target, 'name one database as the path, e.g. mysql://user@host:3306/monitoring');
  }
  const params = readParameters(parsed, target);
  const tlsMode = tlsModeOf(params, target);
  const user = decodeURIComponent(parsed.username) || 'root';
  const password = passwordOf(url);
  const socketPath = params.get('socket');
  const port = parsed.port ? Number(parsed.port) : 3306;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';

  const options: PoolOptions = {
    user,
    password,
    database,
    ...(socketPath ? { socketPath } : { host, port }),
    connectTimeout: connectTimeoutOf(params, target),
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
    tlsOptions: tlsOptionsFor(tlsMode, params, target),
    localInfile: booleanParameter(params, 'local-infile', target) ?? true,
    database,
    user,
    address: socketPath ?? `${host}:${port}`,
    target,
    password,
  };
}

function readParameters(parsed: URL, target: string): Map<Parameter, string> {
  const params = new Map<Parameter, string>();
  for (const [rawKey, value] of parsed.searchParams) {
    const key = rawKey.toLowerCase().replaceAll('_', '-');
    if (!(PARAMETERS as readonly string[]).includes(key)) {
      throw new MySqlUrlError(target, `unknown parameter "${rawKey}"; allowed: ${PARAMETERS.join(', ')}`);
    }
    params.set(key as Parameter, value);
  }
  return params;
}

function booleanParameter(
  params: Map<Parameter, string>,
  name: Parameter,
  target: string,
): boolean | undefined {
  const value = params.get(name);
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(lower)) return true;
  if (['0', 'false', 'off', 'no'].includes(lower)) return false;
  throw new MySqlUrlError(target, `${name}=${value}: use 1 or 0 (true or false)`);
}

function tlsModeOf(params: Map<Parameter, string>, target: string): TlsMode {
  const raw = params.get('ssl-mode');
  const ssl = booleanParameter(params, 'ssl', target);
  if (raw !== undefined && ssl !== undefined) {
    throw new MySqlUrlError(target, 'give either ssl-mode or ssl, not both');
  }
  if (raw !== undefined) {
    const mode = raw.toLowerCase().replaceAll('-', '_') as TlsMode;
    if (!TLS_MODES.includes(mode)) {
      throw new MySqlUrlError(target, `ssl-mode=${raw}: use one of ${TLS_MODES.join(', ')}`);
    }
    return mode;
  }
  if (ssl !== undefined) return ssl ? 'required' : 'disabled';
  // As the MySQL client does: a CA given without a mode means "verify the server against it".
  return params.has('ssl-ca') ? 'verify_ca' : 'disabled';
}

function tlsOptionsFor(
  mode: TlsMode,
  params: Map<Parameter, string>,
  target: string,
): SslOptions | undefined {
  const files = { ca: params.get('ssl-ca'), cert: params.get('ssl-cert'), key: params.get('ssl-key') };
  if (mode === 'disabled') {
    if (files.ca || files.cert || files.key) {
      throw new MySqlUrlError(target, 'ssl-ca, ssl-cert and ssl-key need TLS, but ssl-mode is disabled');
    }
    return undefined;
  }
  if (Boolean(files.cert) !== Boolean(files.key)) {
    throw new MySqlUrlError(target, 'ssl-cert and ssl-key go together: give both or neither');
  }
  const verify = mode === 'verify_ca' || mode === 'verify_identity';
  return {
    rejectUnauthorized: verify,
    verifyIdentity: mode === 'verify_identity',
    ...(files.ca ? { ca: readPem(files.ca, 'ssl-ca', target) } : {}),
    ...(files.cert ? { cert: readPem(files.cert, 'ssl-cert', target) } : {}),
    ...(files.key ? { key: readPem(files.key, 'ssl-key', target) } : {}),
  };
}

function readPem(path: string, parameter: string, target: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new MySqlUrlError(
      target,
      `${parameter}=${path} cannot be read (${reason}): give a readable PEM file`,
    );
  }
}

function connectTimeoutOf(params: Map<Parameter, string>, target: string): number {
  const raw = params.get('connect-timeout');
  if (raw === undefined) return DEFAULT_CONNECT_TIMEOUT_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new MySqlUrlError(target, `connect-timeout=${raw}: give a number of seconds above 0`);
  }
  return Math.round(seconds * 1000);
}
