/**
 * Errors that say what failed and what to do, from node-postgres errors and
 * the server's SQLSTATE. The URL in them is masked and no message carries a
 * password, even where the server or a library would have echoed one.
 */
import { redactSecrets } from '../../secrets.js';
import { errorOfKind, LlamonitorError, type ErrorKind } from '../../errors.js';
import type { TableName } from './ddl.js';

/** What the sink was doing: "could not <action>". */
export type SinkAction =
  | 'connect'
  | 'create the table'
  | 'add columns to the table'
  | 'create an index'
  | 'check the table'
  | 'write rows'
  | 'read rows'
  | 're-price rows'
  | 'delete rows';

export interface ErrorContext {
  readonly target: string;
  readonly user: string | undefined;
  readonly table: TableName;
  readonly sslmode: string;
  readonly secrets: readonly string[];
}

/** The SQLSTATE of a server error, or undefined. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export const UNIQUE_VIOLATION = '23505';
export const DEADLOCK_DETECTED = '40P01';
/** A statement gave up waiting for a lock (lock_timeout). */
export const LOCK_NOT_AVAILABLE = '55P03';
export const INSUFFICIENT_PRIVILEGE = '42501';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH']);
/** The server closed a connection in use: shutdown, restart, an administrator, the network. */
const LOST = new Set(['ECONNRESET', 'EPIPE', '57P01', '57P02']);
const CERTIFICATE_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** SQLSTATEs and Node codes that no retry can cure: the settings or the server's set-up must change. */
const CONFIGURATION = new Set(['28P01', '28000', '3D000', '3F000', '42501', '42P01', 'ENOTFOUND']);
const REFUSED_DATA_CLASSES = /^(22|23)/;
/** 54000 program_limit_exceeded: a value too large for an index or a row. */
const REFUSED_DATA = new Set(['54000']);

/** What a failure means for the rows: see errors.ts. */
function postgresErrorKind(code: string | undefined, raw: string): ErrorKind {
  if (code === undefined) {
    return /certificate|does not support SSL/i.test(raw) ? 'configuration' : 'connection';
  }
  if (CONFIGURATION.has(code) || code.startsWith('42') || code.startsWith('0A')) return 'configuration';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || CERTIFICATE_CODES.test(code)) return 'configuration';
  if (
    REFUSED_DATA.has(code) ||
    (code.length === 5 && REFUSED_DATA_CLASSES.test(code) && code !== UNIQUE_VIOLATION)
  ) {
    return 'refused-data';
  }
  return 'connection';
}

/** The error of the right kind for `error`, raised while doing `action`, with a message that says what to do. */
export function describePostgresError(
  error: unknown,
  action: SinkAction,
  context: ErrorContext,
): LlamonitorError {
  if (error instanceof LlamonitorError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const code = sqlState(error) ?? (error as { code?: string } | null)?.code;
  const message = redactSecrets(explain(raw, code, action, context), context.secrets);
  const kind = postgresErrorKind(code, raw);
  return errorOfKind(kind, message, { code, cause: error });
}

function explain(raw: string, code: string | undefined, action: SinkAction, context: ErrorContext): string {
  const { target, table } = context;
  const user = context.user ? `user "${context.user}"` : 'the user';
  const at = `PostgreSQL at ${target}`;
  switch (code) {
    case '55P03':
      return (
        `${at}: another transaction held table ${table.sql} for longer than the sink waits to ${action} ` +
        `(55P03: ${raw}). Run it again when the long transaction has ended.`
      );
    case '28P01':
      return `${at} refused the password of ${user} (28P01: ${raw}). Fix the password in the connection URL.`;
    case '28000':
      return (
        `${at} refused the connection (28000: ${raw}). ` +
        `Check the user name, and that the server's pg_hba.conf admits this host with sslmode=${context.sslmode}.`
      );
    case '3D000':
      return `${at}: the database does not exist (3D000: ${raw}). Create it, or fix the database name in the URL.`;
    case '42501':
      return `${at} denied ${user} a permission it needs to ${action} (42501: ${raw}). ${grantHint(action, context)}`;
    case '3F000':
      return (
        `${at}: schema ${table.schema ?? ''} does not exist (3F000: ${raw}). Create it, ` +
        `or let the sink create it (createTable, LLAMONITOR_CREATE_TABLE=true).`
      );
    case '42P01':
      return (
        `${at}: table ${table.sql} does not exist (42P01: ${raw}). Create it with \`llamonitor migrate\`, ` +
        `or let the sink create it (createTable, LLAMONITOR_CREATE_TABLE=true).`
      );
    case '53300':
      return `${at} has no connection slot left (53300: ${raw}). Lower LLAMONITOR_POOL_SIZE or raise max_connections.`;
    case '57P03':
      return `${at} is not accepting connections yet (57P03: ${raw}). Retry once it has started.`;
  }
  if (/timeout exceeded when trying to connect/i.test(raw)) {
    // pg-pool says this both when the server does not answer and when every pooled connection stays busy.
    return (
      `no connection to ${at} in time (${raw}): the server did not answer (check host, port and ` +
      `connect_timeout), or all LLAMONITOR_POOL_SIZE connections stayed busy.`
    );
  }
  if ((code && LOST.has(code)) || /Connection terminated/i.test(raw)) {
    return (
      `lost the connection to ${at} while trying to ${action} (${raw}): the server closed it ` +
      `(a restart, an administrator, the network). Writing the batch again is safe: rows stored already are skipped.`
    );
  }
  if (code && UNREACHABLE.has(code)) {
    return `cannot reach ${at} (${raw}). Check that the server runs and that host and port in the URL are right.`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return (
      `${at}: the server's TLS certificate does not name the host in the URL, which sslmode=${context.sslmode} ` +
      `checks (${raw}). Connect by a name the certificate holds, or use sslmode=verify-ca to check only the CA.`
    );
  }
  if ((code && CERTIFICATE_CODES.test(code)) || /certificate/i.test(raw)) {
    return (
      `${at}: the server's TLS certificate failed the sslmode=${context.sslmode} check (${raw}). ` +
      `Give the CA that signed it as sslrootcert=<file>, or use sslmode=require to encrypt without verifying.`
    );
  }
  if (/does not support SSL/i.test(raw)) {
    return (
      `${at} does not accept TLS, which sslmode=${context.sslmode} demands (${raw}). ` +
      `Enable ssl on the server, or use sslmode=prefer or sslmode=disable.`
    );
  }
  return `${at} could not ${action}${code ? ` (${code})` : ''}: ${raw}`;
}

function grantHint(action: SinkAction, context: ErrorContext): string {
  const grantee = context.user ?? '<user>';
  const schema = context.table.schema ?? 'public';
  switch (action) {
    case 'create the table':
      return (
        `Grant it (GRANT USAGE, CREATE ON SCHEMA ${schema} TO ${grantee}), or create the table once as its owner ` +
        `with \`llamonitor migrate\` and set LLAMONITOR_CREATE_TABLE=false.`
      );
    case 'add columns to the table':
    case 'create an index':
      return (
        `Run \`llamonitor migrate\` once as the table's owner (only the owner may ALTER it or index it); ` +
        `rows are written into the columns the table has meanwhile.`
      );
    case 'write rows':
    case 'check the table':
      return (
        `Grant it: GRANT USAGE ON SCHEMA ${schema} TO ${grantee}; GRANT INSERT ON ${context.table.sql} TO ${grantee}; ` +
        `and, for rows sent twice, TEMPORARY on the database.`
      );
    case 'connect':
      return `Grant it: GRANT CONNECT ON DATABASE <database> TO ${grantee}.`;
    case 'read rows':
      return `Grant it: GRANT SELECT ON ${context.table.sql} TO ${grantee}.`;
    case 'delete rows':
      return `Grant it: GRANT DELETE ON ${context.table.sql} TO ${grantee} (only llamonitor doctor deletes).`;
    case 're-price rows':
      return `Grant it: GRANT SELECT, UPDATE ON ${context.table.sql} TO ${grantee} (only llamonitor reprice updates).`;
  }
}
