/**
 * Errors of the MySQL sink: each says what failed, on which server (URL
 * masked), and what to do. The password never appears, even when a server
 * message would echo it.
 */
import { redactSecrets } from '../../secrets.js';
import { errorOfKind, LlamonitorError, type ErrorKind } from '../../errors.js';
import type { MySqlConnectionConfig } from './connection-config.js';

/** What mysql2 puts on its errors; every field optional, since sockets and TLS fail differently. */
interface DriverError {
  message?: string;
  code?: string;
  errno?: number;
  sqlState?: string;
  sqlMessage?: string;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOENT',
  'EACCES',
]);

/** The server or the network closed a connection in use: a restart, KILL CONNECTION, a failover. */
const LOST = new Set(['ECONNRESET', 'EPIPE', 'PROTOCOL_CONNECTION_LOST']);
/** MariaDB's ER_CONNECTION_KILLED, which mysql2 has no name for. */
const CONNECTION_KILLED = 1927;

const TLS_VERIFY = new Set([
  // mysql2 reports a failed TLS handshake under its own code, with Node's reason as the message.
  'HANDSHAKE_SSL_ERROR',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Privileges the sink needs, for the hint in permission errors. */
export const REQUIRED_PRIVILEGES = 'SELECT, INSERT, CREATE';

/** Codes no retry can cure: the settings or the server's set-up must change. */
const CONFIGURATION = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_NO_SUCH_TABLE',
  'ER_BAD_FIELD_ERROR',
  'HANDSHAKE_NO_SSL_SUPPORT',
  'ENOTFOUND',
]);

/**
 * Server errors that refuse a value, by number (MySQL and MariaDB share them
 * below 1900; above, each has its own): 1048 NULL in a NOT NULL column, 1264
 * out of range, 1292 and 1366 a wrong value, 1300 a bad character string, 1406
 * too long, 1153 ER_NET_PACKET_TOO_LARGE (one row past max_allowed_packet),
 * MySQL's 3140 invalid JSON and 3819 a CHECK constraint, MariaDB's 4025 a
 * CHECK constraint and 4038 to 4040 JSON too deep or malformed.
 */
const REFUSED_DATA_ERRNOS = new Set([
  1048, 1153, 1264, 1292, 1300, 1366, 1406, 3140, 3819, 4025, 4038, 4039, 4040,
]);

/** What a failure means for the rows: see errors.ts. */
function mySqlErrorKind(
  code: string | undefined,
  serverErrno: number | undefined,
  sqlState?: string,
): ErrorKind {
  if (code !== undefined && (CONFIGURATION.has(code) || TLS_VERIFY.has(code))) return 'configuration';
  if (serverErrno !== undefined && REFUSED_DATA_ERRNOS.has(serverErrno)) return 'refused-data';
  if (code === 'ER_NET_PACKET_TOO_LARGE') return 'refused-data';
  if (serverErrno !== undefined && sqlState !== undefined && /^22/.test(sqlState)) return 'refused-data';
  return 'connection';
}

/**
 * The error of the right kind for `error`, raised while trying to `action` (e.g. "connect to",
 * "write rows to") the server of `config`; `table` names the table where there is one.
 */
export function describeMySqlError(
  error: unknown,
  action: string,
  config: MySqlConnectionConfig,
  table?: string,
): LlamonitorError {
  if (error instanceof LlamonitorError) return error;
  const driverError = (error ?? {}) as DriverError;
  const code = driverError.code;
  const serverMessage = driverError.sqlMessage ?? driverError.message ?? String(error);
  // Only server errors carry sqlMessage; a socket error's errno is the operating system's.
  const serverErrno = driverError.sqlMessage !== undefined ? driverError.errno : undefined;
  const advice = adviceFor(code, serverErrno, serverMessage, config, table);
  const message = `MySQL: could not ${action} ${config.target}: ${advice}`;
  const kind = mySqlErrorKind(code, serverErrno, driverError.sqlState);
  return errorOfKind(kind, redactSecrets(message, config.secrets), {
    code: code ?? (serverErrno === undefined ? undefined : String(serverErrno)),
    cause: error,
  });
}

function adviceFor(
  code: string | undefined,
  serverErrno: number | undefined,
  serverMessage: string,
  config: MySqlConnectionConfig,
  table: string | undefined,
): string {
  const where = table ? `\`${config.database}\`.\`${table}\`` : `\`${config.database}\``;
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      return `the server refused the login (${serverMessage}): check the user name and password in the URL`;
    case 'ER_BAD_DB_ERROR':
      return `database \`${config.database}\` does not exist (${serverMessage}): create it (CREATE DATABASE \`${config.database}\` CHARACTER SET utf8mb4) or fix the database name in the URL`;
    case 'ER_DBACCESS_DENIED_ERROR':
      return `user '${config.user}' may not use database \`${config.database}\`, or it does not exist (${serverMessage}): check the database name in the URL, or GRANT ${REQUIRED_PRIVILEGES} ON \`${config.database}\`.* TO '${config.user}'`;
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_COLUMNACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
      return `user '${config.user}' lacks a privilege (${serverMessage}): GRANT ${REQUIRED_PRIVILEGES} ON \`${config.database}\`.* TO '${config.user}'`;
    case 'ER_NO_SUCH_TABLE':
      return `table ${where} does not exist (${serverMessage}): create it with "llamonitor migrate", or let the exporter create it (LLAMONITOR_CREATE_TABLE=true)`;
    case 'ER_CON_COUNT_ERROR':
    case 'ER_TOO_MANY_USER_CONNECTIONS':
      return `the server has no connection to spare (${serverMessage}): lower LLAMONITOR_POOL_SIZE or raise the server's max_connections`;
    case 'ER_NET_PACKET_TOO_LARGE':
      return `a packet exceeded the server's max_allowed_packet (${serverMessage}): raise max_allowed_packet on the server`;
    case 'HANDSHAKE_NO_SSL_SUPPORT':
      return `the server offers no TLS, but ssl-mode=${config.tlsMode} requires it: enable TLS on the server, or use ssl-mode=preferred or ssl-mode=disabled`;
    default:
      if ((code !== undefined && LOST.has(code)) || serverErrno === CONNECTION_KILLED) {
        return `lost the connection to the server at ${config.address} (${code ?? serverErrno}: ${serverMessage}): the server or the network closed it (a restart, KILL CONNECTION, a failover). Writing the batch again is safe: rows stored already are skipped`;
      }
      if (code !== undefined && UNREACHABLE.has(code)) {
        return `cannot reach the server at ${config.address} (${code}): check that MySQL or MariaDB runs there and that the host and port in the URL are right`;
      }
      if (code !== undefined && TLS_VERIFY.has(code)) {
        return `the server's TLS certificate did not verify (${code}: ${serverMessage}): give its CA with ssl-ca=/path/to/ca.pem, or use ssl-mode=required to encrypt without verifying`;
      }
      // mysql2 names errors by MySQL's numbers, which MariaDB reuses for other errors above 1900: show the number.
      if (serverErrno !== undefined) return `${serverMessage} (server error ${serverErrno})`;
      return code ? `${serverMessage} (${code})` : serverMessage;
  }
}
