/**
 * The three kinds of failure the package tells apart, under one base class
 * that keeps `cause` and the server's or driver's `code`. What each one means
 * for the rows:
 *
 * - `ConfigError` (configuration): the settings cannot work until someone
 *   changes them. A bad URL, parameter or option is found at construction and
 *   stops start-up. A missing database, a refused login, an unknown host, a
 *   missing permission or a table that does not fit is found by the first
 *   write: its rows are spilled at once (no retry loop; the background replay
 *   checks again slowly) and the message says what to change.
 * - `ConnectionError` (connection): the store is away for now (refused,
 *   reset, timed out, starting, out of connections). Retried with backoff
 *   until the export's deadline, then spilled and replayed once it is back.
 * - `RefusedDataError` (refused data): the store is up and refuses rows it
 *   was given (a value of the wrong form, a constraint). Writing them again
 *   fails again: the batch is split to find them, the other rows are stored,
 *   the refused ones go to the dead-letter file with the server's error.
 *
 * Every message names what failed and what to do, and never holds a password.
 * An error that is none of these (a bug, an unknown failure) is treated as a
 * connection error: retried, then spilled, which is the choice that loses no row.
 */

export type ErrorKind = 'configuration' | 'connection' | 'refused-data';

export interface ErrorDetails {
  /** The error this one explains (a driver's, the operating system's). */
  readonly cause?: unknown;
  /** The server's or driver's code: a SQLSTATE (`28P01`), a MySQL name (`ER_BAD_DB_ERROR`), `ECONNREFUSED`. */
  readonly code?: string | undefined;
}

export class LlamonitorError extends Error {
  readonly kind: ErrorKind;
  readonly code: string | undefined;

  constructor(kind: ErrorKind, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.code = details.code;
  }
}

/** The settings cannot work until they change; see the module comment. */
export class ConfigError extends LlamonitorError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('configuration', message, details);
  }
}

/** The store is away for now; see the module comment. */
export class ConnectionError extends LlamonitorError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('connection', message, details);
  }
}

/** The store refused rows it was given; see the module comment. */
export class RefusedDataError extends LlamonitorError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('refused-data', message, details);
  }
}

/** The kind of any thrown value: an unknown failure counts as a connection error (retried, then spilled). */
export function errorKindOf(error: unknown): ErrorKind {
  return error instanceof LlamonitorError ? error.kind : 'connection';
}

const ERROR_OF_KIND = {
  configuration: ConfigError,
  connection: ConnectionError,
  'refused-data': RefusedDataError,
};

/** The error of `kind`, for code that has classified a failure (a driver's error, by its code). */
export function errorOfKind(kind: ErrorKind, message: string, details: ErrorDetails = {}): LlamonitorError {
  return new ERROR_OF_KIND[kind](message, details);
}
