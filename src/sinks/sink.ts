/**
 * What the exporter needs from a place that stores rows, and how each sink
 * declares itself to the registry (registry.ts). Each sink is I/O only: rows
 * arrive mapped and fitted to their columns (schema/fit-row.ts).
 */
import type { CallQueries } from './call-queries.js';
import type { FileMode } from './file-modes.js';
import type { ColumnSpec, MetricEvent } from '../schema/columns.js';
import type {
  CompactReport,
  PruneReport,
  PruneRequest,
  RepriceReport,
  RepriceRequest,
} from './maintenance.js';

export type SinkKind = 'parquet' | 'postgres' | 'mysql';

export interface Sink {
  readonly kind: SinkKind;
  /** Where rows go, password masked: for log lines and errors. */
  readonly target: string;
  /**
   * Creates the table and its indexes when allowed and missing, and checks
   * that an existing table fits; safe to call from several processes at once.
   */
  prepare(): Promise<void>;
  /**
   * Stores rows and resolves once they are durable. Writing a row again (a
   * retry, a replay) stores it once: rows are keyed by event_id.
   *
   * When `signal` aborts (the caller's deadline passed), the write gives up at
   * once and destroys the connections it holds: a connection the network left
   * silent would otherwise stay busy until TCP gives up, hours later. The rows
   * may or may not be stored then; written again, each is stored once.
   */
  write(rows: readonly MetricEvent[], signal?: AbortSignal): Promise<void>;
  /**
   * The statements `llamonitor migrate` runs to bring the table to this
   * schema version (create it, add the columns and indexes it lacks), in
   * order; with `dryRun` only returns them. None for a store whose files carry their own schema.
   */
  migrate(dryRun: boolean): Promise<readonly string[]>;
  /** What the table lacks of this schema version (`llamonitor doctor`); undefined when there is no table. */
  schemaGaps(): Promise<SchemaGaps | undefined>;
  /** Resolves when the sink can take writes; rejects with the reason when it cannot. `signal` as for write. */
  checkHealth(signal?: AbortSignal): Promise<void>;
  /** The stored rows with these event ids (the doctor's probe reads its row back). */
  readBack(eventIds: readonly string[]): Promise<MetricEvent[]>;
  /** Deletes the rows with these event ids (the doctor removes its probe row). */
  remove(eventIds: readonly string[]): Promise<void>;
  /**
   * The read queries of `llamonitor serve` (aggregates, pages of calls,
   * sessions, traces) over this store; they only read. Closing them releases
   * what they opened; the sink's own connections close with the sink.
   */
  callQueries(): CallQueries;
  /**
   * Works out the cost of the stored rows of a time range again (`llamonitor
   * reprice`), holding the table's maintenance lease; MaintenanceBusyError when
   * another run holds it.
   */
  reprice(request: RepriceRequest): Promise<RepriceReport>;
  /**
   * Removes the rows older than `request.before` (`llamonitor prune`, the
   * exporter's `retentionDays`), under the same maintenance lease, in short
   * steps; MaintenanceBusyError when another run holds the lease at the start.
   */
  prune(request: PruneRequest): Promise<PruneReport>;
  /**
   * Parquet only: merges the small files of the days before today
   * (`parquetCompact`, `llamonitor compact`), under the same lease.
   */
  compact?(signal?: AbortSignal): Promise<CompactReport>;
  /** Makes buffered rows visible to readers (Parquet closes its open file); durable rows stay durable without it. */
  flush(): Promise<void>;
  /** Flushes and releases connections, files and workers. */
  close(): Promise<void>;
}

/** The columns and indexes of this schema version a table lacks. */
export interface SchemaGaps {
  readonly columns: readonly string[];
  readonly indexes: readonly string[];
}

/** What every sink is configured with, beside its URL. */
export interface SinkOptions {
  /** Table name, or the Parquet dataset folder's name; a checked identifier. */
  readonly table: string;
  /** PostgreSQL schema; a checked identifier. */
  readonly schema?: string | undefined;
  /** Connections in the pool. */
  readonly poolSize: number;
  /** Create the table and indexes when missing, and add the columns a later schema version added. */
  readonly createTable: boolean;
  /** The package's console warnings (`LLAMONITOR_WARNINGS`); off sends them to diag. Default on. */
  readonly warnings?: boolean | undefined;
  /** PostgreSQL and MySQL: a table the sink creates is partitioned by day or month of `timestamp`. Default off. */
  readonly partition?: 'off' | 'day' | 'month' | undefined;
}

/** What the registry builds a sink with: SinkOptions and the file sinks' settings (ResolvedOptions has them all). */
export interface SinkSettings extends SinkOptions {
  readonly parquetFileRows: number;
  readonly parquetFileAgeMillis: number;
  /** Who may read the files written: `private` (0600 / 0700) or `group` (0640 / 0750). */
  readonly fileMode: FileMode;
  readonly warnings: boolean;
}

/** A URL checked by its sink's definition: all the sink needs later, so the URL is parsed once. */
export interface ParsedTarget<Config> {
  /** Where rows go, password masked: for messages. */
  readonly display: string;
  /** Every form of every secret in the URL (password, key passphrase): no message may hold one. */
  readonly secrets: readonly string[];
  /** The folder that holds one dataset folder per table, for sinks that write local files. */
  readonly directory?: string | undefined;
  /** The checked settings the sink is built from. */
  readonly config: Config;
}

export type SinkFactory<Config> = (config: Config, settings: SinkSettings) => Sink;

/**
 * One sink as the registry knows it. `parseTarget` is synchronous and loads no
 * driver, so that a bad URL stops construction; `load` imports the sink and its
 * driver on first use, so that the driver of a sink not in use is never required.
 */
export interface SinkDefinition<Config> {
  readonly kind: SinkKind;
  /** The URL schemes it takes, lowercase, without `://`: `postgres`. */
  readonly schemes: readonly string[];
  /** Whether a plain path (no scheme) means this sink. */
  readonly takesPlainPaths: boolean;
  /** A column of the column table as this store declares it: the sink's one map from kinds to its types. */
  columnType(column: ColumnSpec): string;
  /** Checks every part and parameter of `url`; throws a ConfigError that says what is wrong and what is allowed, URL masked. */
  parseTarget(url: string): ParsedTarget<Config>;
  /** The sink's factory, its driver loaded; a ConfigError saying what to npm install when the driver is missing. */
  load(): Promise<SinkFactory<Config>>;
}
