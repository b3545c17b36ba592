/**
 * Which columns a sink writes into an existing table. A table of an earlier
 * schema version (the Python project's, this package's 1.0) may lack the
 * columns a later version added; rows still go into the columns it has, and
 * carry the version whose shape they have. MissingColumns is what both
 * database sinks keep about such a table: why it lacks them, when to try
 * adding them again, the one warning.
 */
import { diag } from '@opentelemetry/api';
import {
  ADDED_COLUMNS,
  INSERT_COLUMNS,
  SCHEMA_VERSION_1_0,
  type ColumnSpec,
  type IndexSpec,
} from '../schema/columns.js';
import type { ConsoleWarnings } from '../warnings.js';
import type { SchemaGaps } from './sink.js';

export interface WrittenColumns {
  /** The insert columns the table has, in the column table's order: the order of every bulk row. */
  readonly columns: readonly ColumnSpec[];
  /** The columns added after 1.0.0 that the table lacks. */
  readonly missing: readonly ColumnSpec[];
  /**
   * Text a column gets in every row, whatever the row holds: schema_version
   * 1.0.0 while a 1.1 column is missing (the shape those rows have).
   */
  readonly fixed: Readonly<Record<string, string>>;
}

/** Every insert column: a table this version created. */
export const ALL_COLUMNS: WrittenColumns = { columns: INSERT_COLUMNS, missing: [], fixed: {} };

/** The columns to write into a table that has the columns `has` answers true for (names in lower case). */
export function writtenColumns(has: (name: string) => boolean): WrittenColumns {
  const missing = ADDED_COLUMNS.filter((column) => !has(column.name));
  if (missing.length === 0) return ALL_COLUMNS;
  return {
    columns: INSERT_COLUMNS.filter((column) => has(column.name)),
    missing,
    fixed: { schema_version: SCHEMA_VERSION_1_0 },
  };
}

/** What `llamonitor doctor` reports of a table: the columns and indexes of this version it lacks. */
export function schemaGapsOf(written: WrittenColumns, indexes: readonly IndexSpec[]): SchemaGaps {
  return {
    columns: written.missing.map((column) => column.name),
    indexes: indexes.map((index) => `(${index.columns.join(', ')})`),
  };
}

/** After an ALTER gave up waiting for its lock (a long transaction held the table), the next try is this much later. */
export const ADD_COLUMNS_RETRY_MILLIS = 60_000;

/**
 * A database sink's record of the columns its table lacks: why adding them
 * failed, when a write should try again (after a lock timeout only), and the
 * one console line that says so.
 */
export class MissingColumns {
  #retryAt: number | undefined;
  #retrying: Promise<void> | undefined;
  #why: string | undefined;

  constructor(
    private readonly warnings: ConsoleWarnings,
    private readonly createTable: boolean,
  ) {}

  /** The columns were added (or found there). */
  added(): void {
    this.#retryAt = undefined;
  }

  /** Adding them failed for `why`; `retry`: a lock timeout, which a write tries again a minute later. */
  failed(why: string, retry: boolean): void {
    this.#why = why;
    if (retry) this.#retryAt = Date.now() + ADD_COLUMNS_RETRY_MILLIS;
  }

  /**
   * Runs `addColumns` when a retry is due: one at a time, the next one
   * postponed first, a failure logged and left for the next write. Undefined
   * when none is due, so that a write then goes on without yielding (close()
   * counts on writes being in flight as soon as they are called).
   */
  retryIfDue(addColumns: () => Promise<void>, table: string): Promise<void> | undefined {
    if (this.#retryAt === undefined || Date.now() < this.#retryAt) return undefined;
    this.#retryAt = Date.now() + ADD_COLUMNS_RETRY_MILLIS;
    this.#retrying ??= addColumns()
      .catch((error: unknown) => diag.debug(`llamonitor: adding columns to ${table} failed again`, error))
      .finally(() => {
        this.#retrying = undefined;
      });
    return this.#retrying;
  }

  /** Says once per table, when `written` lacks columns, which and why. */
  warnIfMissing(written: WrittenColumns, table: string, target: string): void {
    if (written.missing.length === 0) return;
    const why = this.#why ?? (this.createTable ? 'not added yet' : 'table creation is off');
    const names = written.missing.map((column) => column.name).join(', ');
    this.warnings.once(
      `missing-columns:${target}:${table}`,
      `table ${table} at ${target} lacks the schema 1.1 columns ${names} (${why}): ` +
        `rows are stored without them, as schema 1.0.0 rows (the JSON columns still hold every value). ` +
        `Run "llamonitor migrate" to add them (docs/upgrading.md).`,
    );
  }
}
