/**
 * What the CLI asks of a store beside writing rows: a summary of the calls in
 * a time range (`llamonitor stats`, from the read queries of call-queries.ts),
 * the re-pricing of stored rows (`llamonitor reprice`), and the removal of rows
 * older than the retention (`llamonitor prune`, and the exporter's hourly
 * run). The types are shared; each sink re-prices and prunes with its own
 * queries (`<store>/maintenance.ts`).
 */
import type { JsonObject, StoredCostColumns } from '../schema/columns.js';
import type { CallDimension, CallQueries } from './call-queries.js';

export const SUMMARY_GROUPS = ['model', 'provider', 'user', 'session', 'service', 'operation'] as const;
export type SummaryGroup = (typeof SUMMARY_GROUPS)[number];

/** The dimension of the read queries (call-queries.ts) each grouping is. */
const GROUP_DIMENSIONS: Readonly<Record<SummaryGroup, CallDimension>> = {
  model: 'model',
  provider: 'provider',
  user: 'user',
  session: 'session',
  service: 'service',
  operation: 'operation_type',
};

export interface SummaryRequest {
  /** Rows whose `timestamp` is at or after `from` and before `to`. */
  readonly from: Date;
  readonly to: Date;
  readonly by: SummaryGroup;
}

/**
 * One group's model calls: rows that name a model and are not wrappers (a
 * wrapper repeats its children's usage: `aggregate_*` keys, NULL tokens).
 */
export interface GroupSummary {
  readonly group: string;
  readonly calls: number;
  /** Calls with an error. */
  readonly errors: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  /** Sum of cost_usd; null when no call of the group has a price. */
  readonly costUsd: number | null;
  /** Calls without a price because their model has none (`cost_source` `unknown_model`). */
  readonly unpriced: number;
  /** Of duration_ms; the method is each store's (docs/queries.md). */
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
}

export interface Summary {
  /** By cost, then calls, most first. */
  readonly groups: readonly GroupSummary[];
  /** Models seen without a price, by calls: what to add to a custom price file. */
  readonly unpricedModels: readonly { readonly model: string; readonly calls: number }[];
}

/** A stored row's id and the columns its cost is worked out from and kept in. */
export interface StoredCostRow extends StoredCostColumns {
  readonly event_id: string;
}

/** The new cost of a row; `reported` and `unchanged` rows are left as they are. */
export type RepriceOutcome =
  | 'reported'
  | 'unchanged'
  | { readonly cost_usd: number | null; readonly text_custom_metrics: JsonObject | null };

export interface RepriceRequest {
  readonly from: Date;
  readonly to: Date;
  /** Only rows of this model (the `model` column). */
  readonly model?: string | undefined;
  /** Work out and count the changes, write none. */
  readonly dryRun: boolean;
  /** Pure: the row's new cost (pricing/reprice-row.ts). */
  readonly reprice: (row: StoredCostRow) => RepriceOutcome;
}

export interface RepriceReport {
  /** Rows in the range looked at. */
  readonly examined: number;
  /** Rows whose cost changed (or would, with dryRun). */
  readonly repriced: number;
  /** Rows left as they were because their cost was reported by the provider. */
  readonly reported: number;
  /** New minus old sum of cost_usd over the re-priced rows, in US dollars. */
  readonly change: number;
  /** Files left alone (Parquet files written before schema 1.1, without cost columns). */
  readonly skipped: readonly string[];
}

/** Rows the SQL stores read and update per re-pricing batch: each batch short, so writers are never held up for long. */
export const REPRICE_BATCH_ROWS = 1000;

/** Another maintenance run (reprice, later prune or compact) holds the table. */
export class MaintenanceBusyError extends Error {
  constructor(target: string) {
    super(
      `another maintenance run (llamonitor reprice, prune or compact) is working on ${target}: try again once it ends`,
    );
    this.name = 'MaintenanceBusyError';
  }
}

export interface PruneRequest {
  /** Rows whose `timestamp` is before this instant go. */
  readonly before: Date;
  /** Count what would go, remove nothing. */
  readonly dryRun: boolean;
  /** Stops the run between two batches (shutdown): what was removed stays removed. */
  readonly signal?: AbortSignal | undefined;
}

export interface PruneReport {
  /** Rows removed (or, with dryRun, that would be). */
  readonly rows: number;
  /**
   * The `date=` folders (Parquet) or the partitions (a partitioned SQL table) removed (or that would be). A folder goes
   * whole once its whole day is older than `before`, so rows of the day
   * `before` falls in wait for the next run.
   */
  readonly partitions: readonly string[];
  /** The run stopped early: another maintenance run took the lease between two batches, or `signal` aborted. */
  readonly stoppedEarly: boolean;
}

/**
 * Rows the SQL stores delete per statement: each DELETE short, its locks held
 * briefly, the lease taken again for each batch, so writers and other
 * maintenance runs are never held up for long.
 */
export const PRUNE_BATCH_ROWS = 5000;

/** Partitions a prune dropped (or, dry, would drop), and the rows they held. */
export interface DroppedPartitions {
  readonly partitions: readonly string[];
  readonly rows: number;
}

/** What a SQL store does for each step of a prune (its own statements). */
export interface PruneSteps {
  /** Every row older than the limit: a dry run's answer. */
  readonly count: () => Promise<number>;
  /**
   * A partitioned table's partitions wholly older than the limit, dropped (or,
   * with `dryRun`, listed) under the maintenance lease; none for a table
   * without partitions; 'busy' when another run holds the lease.
   */
  readonly dropPartitions: (dryRun: boolean) => Promise<DroppedPartitions | 'busy'>;
  /** Up to PRUNE_BATCH_ROWS older rows removed under the lease: how many, or 'busy'. */
  readonly batch: () => Promise<number | 'busy'>;
}

/**
 * The prune of the SQL stores: whole partitions first, then batches of
 * PRUNE_BATCH_ROWS rows. MaintenanceBusyError when the lease is held before
 * anything was removed; held later, the run ends there (the other run goes on
 * with the work).
 */
export async function pruneInBatches(
  request: PruneRequest,
  target: string,
  steps: PruneSteps,
): Promise<PruneReport> {
  const dropped = await steps.dropPartitions(request.dryRun);
  if (dropped === 'busy') throw new MaintenanceBusyError(target);
  const partitions = dropped.partitions;
  // A dry run counts every old row once (those of the partitions it would drop included).
  if (request.dryRun) return { rows: await steps.count(), partitions, stoppedEarly: false };
  let rows = dropped.rows;
  for (let first = true; ; first = false) {
    if (request.signal?.aborted) return { rows, partitions, stoppedEarly: true };
    const removed = await steps.batch();
    if (removed === 'busy') {
      if (first && partitions.length === 0) throw new MaintenanceBusyError(target);
      return { rows, partitions, stoppedEarly: true };
    }
    rows += removed;
    if (removed < PRUNE_BATCH_ROWS) return { rows, partitions, stoppedEarly: false };
  }
}

/** `llamonitor compact` of a Parquet dataset (sinks/parquet/compaction.ts). */
export interface CompactRequest {
  /** One day (`YYYY-MM-DD`), today included; undefined: every day before today. */
  readonly date?: string | undefined;
  /** Rows per merged file at most (parquetFileRows); files with this many rows are left as they are. */
  readonly fileRows: number;
  readonly fileMode: number;
  /** Stops the run between two days (shutdown). */
  readonly signal?: AbortSignal | undefined;
}

export interface DayCompaction {
  readonly date: string;
  /** Small files merged (and removed). */
  readonly inputs: number;
  /** Files written in their place. */
  readonly outputs: number;
  /** Rows written. */
  readonly rows: number;
  /** Rows left out because another row of the day had their event_id. */
  readonly duplicates: number;
  /** Files left alone because their write-ahead segment is still in `_wal` (recovery's). */
  readonly inLimbo: number;
}

export interface CompactReport {
  readonly days: readonly DayCompaction[];
  /** Days whose earlier, interrupted run this one finished. */
  readonly finished: readonly string[];
}

/** Rows of one re-pricing step, worked out and counted the same way by every store. */
export interface RepriceTally {
  examined: number;
  repriced: number;
  reported: number;
  change: number;
}

export function newTally(): RepriceTally {
  return { examined: 0, repriced: 0, reported: 0, change: 0 };
}

/** Applies `reprice` to a row, counts it, and returns its new cost when it changes. */
export function tallied(
  tally: RepriceTally,
  request: RepriceRequest,
  row: StoredCostRow,
): Exclude<RepriceOutcome, 'reported' | 'unchanged'> | undefined {
  tally.examined++;
  const outcome = request.reprice(row);
  if (outcome === 'reported') {
    tally.reported++;
    return undefined;
  }
  if (outcome === 'unchanged') return undefined;
  tally.repriced++;
  tally.change += (outcome.cost_usd ?? 0) - (row.cost_usd ?? 0);
  return outcome;
}

/**
 * A stored row as a store's driver returned it (the columns under their own
 * names, `timestamp` as ISO 8601 text, JSON parsed or as text) in the form
 * re-pricing reads.
 */
export function storedCostRow(found: Record<string, unknown>): StoredCostRow {
  return {
    event_id: String(found.event_id),
    timestamp: String(found.timestamp),
    model: stringOrNull(found.model),
    provider: stringOrNull(found.provider),
    input_tokens: numberOrNull(found.input_tokens),
    output_tokens: numberOrNull(found.output_tokens),
    cache_read_tokens: numberOrNull(found.cache_read_tokens),
    cache_write_tokens: numberOrNull(found.cache_write_tokens),
    reasoning_tokens: numberOrNull(found.reasoning_tokens),
    cost_usd: numberOrNull(found.cost_usd),
    text_custom_metrics: jsonObjectOrNull(found.text_custom_metrics),
    custom_attributes: jsonObjectOrNull(found.custom_attributes),
  };
}

/** One group's line of a summary query, whatever the store (the queries name their columns alike). */
/**
 * `llamonitor stats`' summary, from the store's read queries (the same that `llamonitor serve`
 * answers with): its model calls by group, and the models seen without a price.
 */
export async function summaryOf(queries: CallQueries, request: SummaryRequest): Promise<Summary> {
  const filter = { from: request.from, to: request.to, where: {} };
  try {
    const groups = await queries.summary(filter, GROUP_DIMENSIONS[request.by]);
    return {
      groups: groups.map((group) => ({
        group: group.group,
        calls: group.calls,
        errors: group.errors,
        inputTokens: group.input_tokens,
        outputTokens: group.output_tokens,
        cacheReadTokens: group.cache_read_tokens,
        costUsd: group.cost_usd,
        unpriced: group.unpriced,
        p50Ms: group.latency_ms.p50,
        p95Ms: group.latency_ms.p95,
      })),
      unpricedModels: await queries.unpricedModels(filter),
    };
  } finally {
    await queries.close();
  }
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** JSON as drivers give it: parsed (PostgreSQL, MySQL 8) or text (MariaDB's LONGTEXT, Parquet). */
function jsonObjectOrNull(value: unknown): JsonObject | null {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as JsonObject)
    : null;
}
