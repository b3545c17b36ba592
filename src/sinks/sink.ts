/**
 * What the exporter needs from a place that stores rows. Each sink is I/O only:
 * rows arrive mapped and fitted to their columns (schema/fit-row.ts).
 */
import type { MetricEvent } from '../schema/columns.js';

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
  /** Resolves when the sink can take writes; rejects with the reason when it cannot. `signal` as for write. */
  checkHealth(signal?: AbortSignal): Promise<void>;
  /** The stored rows with these event ids (the doctor's probe reads its row back). */
  readBack(eventIds: readonly string[]): Promise<MetricEvent[]>;
  /** Deletes the rows with these event ids (the doctor removes its probe row). */
  remove(eventIds: readonly string[]): Promise<void>;
  /** Makes buffered rows visible to readers (Parquet closes its open file); durable rows stay durable without it. */
  flush(): Promise<void>;
  /** Flushes and releases connections, files and workers. */
  close(): Promise<void>;
}

/** What every sink is configured with, beside its URL. */
export interface SinkOptions {
  /** Table name, or the Parquet dataset folder's name; a checked identifier. */
  readonly table: string;
  /** PostgreSQL schema; a checked identifier. */
  readonly schema?: string | undefined;
  /** Connections in the pool. */
  readonly poolSize: number;
  /** Create the table and indexes when missing. */
  readonly createTable: boolean;
}
