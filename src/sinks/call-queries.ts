/**
 * The read side `llamonitor serve` asks every store through: aggregates of the
 * model calls of a time range (per group, per time bucket), pages of calls, the
 * sessions, a session's calls and a trace's rows. The SQL is written once here;
 * each store supplies its dialect (how it quotes, binds, buckets time, reads
 * JSON and takes percentiles) and runs the statements (`<store>/call-reader.ts`).
 *
 * Every value from a request is a bound parameter; what is spliced into the SQL
 * comes from the closed lists below (columns, bucket widths, percentiles).
 */
import { columnSpec, type ColumnName } from '../schema/columns.js';
import { epochMicrosToIsoMicros } from '../schema/timestamps.js';

/** What the aggregates can be grouped by and calls filtered on, with the column each reads. */
export const CALL_DIMENSIONS = {
  model: 'model',
  provider: 'provider',
  operation_type: 'operation_type',
  service: 'service_name',
  user: 'user_id',
  session: 'session_id',
} as const satisfies Record<string, ColumnName>;
export type CallDimension = keyof typeof CALL_DIMENSIONS;
export const CALL_DIMENSION_NAMES = Object.keys(CALL_DIMENSIONS) as readonly CallDimension[];

/** Time bucket widths of a time series, in seconds. */
export const BUCKET_SECONDS = { '1m': 60, '1h': 3600, '1d': 86_400 } as const;
export type Bucket = keyof typeof BUCKET_SECONDS;

/** What a group with a NULL key is shown as; a time series without `by` has the one group ALL_CALLS. */
export const NO_GROUP = '(none)';
export const ALL_CALLS = '(all)';

/** Most rows a page of calls or sessions holds, and the most a session or trace returns. */
export const MAX_PAGE = 1000;
export const MAX_DETAIL_ROWS = 10_000;

export interface CallFilter {
  /** Rows whose `timestamp` is at or after `from` and before `to`. */
  readonly from: Date;
  readonly to: Date;
  /** Equality filters: only rows whose dimension has this value. */
  readonly where: Readonly<Partial<Record<CallDimension, string>>>;
}

/** Percentiles of a duration; null when no row of the group has one. */
export interface Percentiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99?: number | null;
}

/**
 * The model calls of a group: rows that name a model and do not repeat another
 * row's usage (a wrapper: `aggregate*` keys in text_custom_metrics).
 */
export interface CallAggregates {
  readonly calls: number;
  readonly errors: number;
  /** errors ÷ calls; 0 without calls. */
  readonly error_rate: number;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_read_tokens: number;
  readonly cache_write_tokens: number;
  /** Sum of cost_usd; null when no call of the group has a price. */
  readonly cost_usd: number | null;
  /** Calls without a price because their model has none (`cost_source` `unknown_model`). */
  readonly unpriced: number;
  /** Of duration_ms: p50, p95, p99. */
  readonly latency_ms: Percentiles;
  /** Of time_to_first_token_ms (streamed calls): p50, p95. */
  readonly ttft_ms: Percentiles;
}

export interface GroupAggregates extends CallAggregates {
  readonly group: string;
}

export interface BucketAggregates extends GroupAggregates {
  /** The bucket's start, ISO 8601 UTC. */
  readonly bucket: string;
}

/** One stored row as the API shows it. */
export interface CallRow {
  readonly event_id: string;
  /** ISO 8601 UTC with microseconds. */
  readonly timestamp: string;
  readonly session_id: string;
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id: string | null;
  readonly operation_name: string;
  readonly operation_type: string;
  readonly duration_ms: number | null;
  readonly model: string | null;
  readonly provider: string | null;
  readonly input_tokens: number | null;
  readonly output_tokens: number | null;
  readonly cache_read_tokens: number | null;
  readonly cache_write_tokens: number | null;
  readonly reasoning_tokens: number | null;
  readonly cost_usd: number | null;
  readonly time_to_first_token_ms: number | null;
  readonly finish_reason: string | null;
  readonly error: string | null;
  readonly error_type: string | null;
  readonly user_id: string | null;
  readonly service_name: string | null;
  /** The prompt and completion, only when the exporter captured content (captureContent). */
  readonly prompt?: string;
  readonly completion?: string;
}

export interface CallsPage {
  /** Newest first. */
  readonly calls: readonly CallRow[];
  /** Pass as `cursor` for the next page; null on the last. */
  readonly next_cursor: string | null;
}

export const SESSION_SORTS = ['last', 'cost', 'calls'] as const;
export type SessionSort = (typeof SESSION_SORTS)[number];

export interface SessionsQuery extends CallFilter {
  /** Sessions whose id contains this text. */
  readonly q?: string | undefined;
  readonly sort: SessionSort;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export interface SessionSummary {
  readonly session_id: string;
  /** Every row of the session in range (wrappers, tools, model calls). */
  readonly rows: number;
  /** Its model calls. */
  readonly calls: number;
  readonly errors: number;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cost_usd: number | null;
  readonly first_seen: string;
  readonly last_seen: string;
  readonly user_id: string | null;
}

export interface SessionsPage {
  readonly sessions: readonly SessionSummary[];
  readonly next_cursor: string | null;
}

/** A trace row with the rows whose parent it is, in time order. */
export interface TraceNode extends CallRow {
  readonly children: readonly TraceNode[];
}

/** A cursor that is not one this server handed out. */
export class BadCursorError extends Error {
  constructor() {
    super('cursor is not one this API returned (pass next_cursor unchanged)');
    this.name = 'BadCursorError';
  }
}

/** How one store writes what the queries need. */
export interface SqlDialect {
  /** The placeholder of the `index`-th (1-based) bound value. */
  placeholder(index: number): string;
  identifier(name: string): string;
  /** A bound instant compared with `timestamp` (`value` is what `timeValue` made). */
  time(placeholder: string): string;
  /** The bound value of an instant given as ISO 8601 UTC with microseconds. */
  timeValue(isoMicros: string): unknown;
  /** `timestamp` as whole microseconds since the epoch (an integer). */
  readonly epochMicros: string;
  /** The start of `timestamp`'s bucket of `seconds` (60, 3600 or 86400), grouped by. */
  bucketStart(seconds: number): string;
  /** A bucket start as `bucketStart` gave it, as whole seconds since the epoch; itself when it is that already. */
  bucketEpoch?(column: string): string;
  /**
   * `created_at` (when the store took the row) as whole microseconds since the
   * epoch; undefined for a store without one the server fills (Parquet).
   */
  readonly createdAtMicros?: string;
  /** A bound count of microseconds since the epoch as an instant comparable with `created_at`. */
  createdAfter?(placeholder: string): string;
  /** event_id as text (its order is the text's). */
  readonly eventIdText: string;
  /** A column as text (for grouping, `coalesce` with NO_GROUP). */
  asText(column: string): string;
  /** text_custom_metrics' `cost_source` as text. */
  readonly costSource: string;
  /** custom_attributes' `prompt` and `completion` as text. */
  readonly prompt: string;
  readonly completion: string;
  /** True for a row that repeats another's usage (a wrapper). */
  readonly repeatsUsage: string;
  /** `text LIKE pattern` matching a literal substring (the pattern bound, its wildcards escaped with `!`). */
  contains(text: string, placeholder: string): string;
  /**
   * Percentiles: an aggregate (`percentile_cont`, `quantile_cont`), or, where the
   * store has none (MySQL), nearest rank from window functions.
   */
  readonly percentiles: 'aggregate' | 'nearest-rank';
  percentile(column: string, fraction: number): string;
}

/** What a store's reader gives the queries: its dialect, where rows are, and a way to run a statement. */
export interface QueryRunner {
  readonly dialect: SqlDialect;
  /**
   * The FROM source of rows that may fall in `range` (the whole table without
   * one); undefined when the store holds none (a Parquet dataset without files
   * there).
   */
  source(range?: { readonly from: Date; readonly to: Date }): string | undefined;
  all(sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** A store that finds new rows its own way (Parquet: its write-ahead log) gives its watcher here. */
  watcher?(): RowWatcher;
  close(): Promise<void>;
}

/**
 * Finds the rows stored since its last look, each once: `poll()` resolves
 * with them (oldest first); its first call only takes its bearings.
 */
export interface RowWatcher {
  poll(): Promise<CallRow[]>;
  close(): Promise<void>;
}

/** Live rows are those of spans that started at most this long before they were stored. */
export const LIVE_HORIZON_MILLIS = 3_600_000;
/**
 * How far back each look reads again: PostgreSQL's `created_at` is the start
 * of the writing transaction, which commits later; MySQL's has whole seconds.
 * Rows read again are dropped by event_id.
 */
export const LIVE_OVERLAP_MICROS = 10_000_000n;
/** Most rows one look returns: a live view shows a tail, not a firehose. */
export const LIVE_MAX_ROWS = 1000;

/** Values bound in the order their placeholders appear. */
class Bound {
  readonly values: unknown[] = [];
  constructor(private readonly dialect: SqlDialect) {}

  add(value: unknown): string {
    this.values.push(value);
    return this.dialect.placeholder(this.values.length);
  }
}

const CALL_COLUMNS: readonly ColumnName[] = [
  'event_id',
  'session_id',
  'trace_id',
  'span_id',
  'parent_span_id',
  'operation_name',
  'operation_type',
  'duration_ms',
  'model',
  'provider',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
  'cost_usd',
  'time_to_first_token_ms',
  'finish_reason',
  'error',
  'error_type',
  'user_id',
  'service_name',
];

export class CallQueries {
  private readonly d: SqlDialect;

  constructor(private readonly runner: QueryRunner) {
    this.d = runner.dialect;
  }

  /** The model calls of the range summed per group (one, ALL_CALLS, without `by`), by cost then calls, most first. */
  async summary(filter: CallFilter, by: CallDimension | undefined): Promise<GroupAggregates[]> {
    const rows = await this.aggregate(filter, by, undefined);
    return rows.map((row) => ({ group: String(row.grp), ...aggregatesOf(row) }));
  }

  /** The same per bucket of time (oldest first), per group when `by` is given. */
  async timeseries(
    filter: CallFilter,
    bucket: Bucket,
    by: CallDimension | undefined,
  ): Promise<BucketAggregates[]> {
    const rows = await this.aggregate(filter, by, BUCKET_SECONDS[bucket]);
    return rows.map((row) => ({
      bucket: new Date(Number(row.bucket) * 1000).toISOString(),
      group: String(row.grp),
      ...aggregatesOf(row),
    }));
  }

  /** A page of rows of the range (every row, model call or not), newest first. */
  async calls(filter: CallFilter, limit: number, cursor: string | undefined): Promise<CallsPage> {
    // Checked first: a bad cursor is refused whether or not there are rows.
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (after !== undefined && !isIsoMicros(after[0])) throw new BadCursorError();
    const source = this.runner.source(filter);
    if (source === undefined) return { calls: [], next_cursor: null };
    const bound = new Bound(this.d);
    const conditions = [this.inRange(filter, bound), ...this.matching(filter, bound)];
    if (after !== undefined) {
      const [time, id] = after;
      const ts = this.d.identifier('timestamp');
      const at = this.d.time(bound.add(this.d.timeValue(time)));
      const again = this.d.time(bound.add(this.d.timeValue(time)));
      conditions.push(`(${ts} < ${at} OR (${ts} = ${again} AND ${this.d.eventIdText} < ${bound.add(id)}))`);
    }
    const rows = await this.runner.all(
      `SELECT ${this.callColumns()} FROM ${source} WHERE ${conditions.join(' AND ')}
        ORDER BY ${this.d.identifier('timestamp')} DESC, ${this.d.eventIdText} DESC LIMIT ${limit + 1}`,
      bound.values,
    );
    const calls = rows.slice(0, limit).map(callRowOf);
    const last = calls[calls.length - 1];
    return {
      calls,
      next_cursor: rows.length > limit && last ? encodeCursor([last.timestamp, last.event_id]) : null,
    };
  }

  /** The models of the range's calls that have no price (`cost_source` `unknown_model`), most calls first. */
  async unpricedModels(filter: CallFilter): Promise<{ model: string; calls: number }[]> {
    const source = this.runner.source(filter);
    if (source === undefined) return [];
    const d = this.d;
    const bound = new Bound(d);
    const model = d.identifier('model');
    const rows = await this.runner.all(
      `SELECT ${model} AS model, count(*) AS calls FROM ${source}
        WHERE ${[this.inRange(filter, bound), ...this.matching(filter, bound), this.modelCall()].join(' AND ')}
          AND ${d.identifier('cost_usd')} IS NULL AND ${d.costSource} = 'unknown_model'
        GROUP BY ${model} ORDER BY count(*) DESC, ${model}`,
      bound.values,
    );
    return rows.map((row) => ({ model: String(row.model), calls: Number(row.calls) }));
  }

  /** The sessions with rows in the range, `sort` first (most recent, costliest, most calls). */
  async sessions(query: SessionsQuery): Promise<SessionsPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (after !== undefined && !Number.isFinite(Number(after[0]))) throw new BadCursorError();
    const source = this.runner.source(query);
    if (source === undefined) return { sessions: [], next_cursor: null };
    const d = this.d;
    const bound = new Bound(d);
    const conditions = [this.inRange(query, bound), ...this.matching(query, bound)];
    const session = d.identifier('session_id');
    if (query.q !== undefined) conditions.push(d.contains(session, bound.add(`%${escapeLike(query.q)}%`)));
    const sortKey = {
      last: `max(${d.epochMicros})`,
      cost: `coalesce(sum(${d.identifier('cost_usd')}), 0)`,
      calls: `sum(CASE WHEN ${this.modelCall()} THEN 1 ELSE 0 END)`,
    }[query.sort];
    const having: string[] = [];
    if (after !== undefined) {
      const [value, id] = after;
      const number = Number(value);
      having.push(
        `(${sortKey} < ${bound.add(number)} OR (${sortKey} = ${bound.add(number)} AND ${session} > ${bound.add(id)}))`,
      );
    }
    const rows = await this.runner.all(
      `SELECT ${session} AS session_id, count(*) AS row_count,
              sum(CASE WHEN ${this.modelCall()} THEN 1 ELSE 0 END) AS calls,
              sum(CASE WHEN ${this.modelCall()} AND ${d.identifier('error')} IS NOT NULL THEN 1 ELSE 0 END) AS errors,
              coalesce(sum(${d.identifier('input_tokens')}), 0) AS input_tokens,
              coalesce(sum(${d.identifier('output_tokens')}), 0) AS output_tokens,
              sum(${d.identifier('cost_usd')}) AS cost_usd,
              min(${d.epochMicros}) AS first_us, max(${d.epochMicros}) AS last_us,
              max(${d.identifier('user_id')}) AS user_id, ${sortKey} AS sort_key
         FROM ${source} WHERE ${conditions.join(' AND ')}
        GROUP BY ${session}${having.length > 0 ? ` HAVING ${having.join(' AND ')}` : ''}
        ORDER BY ${sortKey} DESC, ${session} LIMIT ${query.limit + 1}`,
      bound.values,
    );
    const sessions = rows.slice(0, query.limit).map(sessionOf);
    const last = rows[Math.min(rows.length, query.limit) - 1];
    return {
      sessions,
      next_cursor:
        rows.length > query.limit && last
          ? encodeCursor([String(Number(last.sort_key)), String(last.session_id)])
          : null,
    };
  }

  /** Every row of a session, oldest first (at most MAX_DETAIL_ROWS). */
  async session(sessionId: string): Promise<CallRow[]> {
    return this.rowsWhere('session_id', sessionId);
  }

  /** Every row of a trace as trees by parent: rows whose parent is not in the trace are roots. */
  async trace(traceId: string): Promise<TraceNode[]> {
    return traceTree(await this.rowsWhere('trace_id', traceId));
  }

  close(): Promise<void> {
    return this.runner.close();
  }

  /** What finds newly stored rows in this store (`/api/live`). */
  watch(): RowWatcher {
    return this.runner.watcher?.() ?? new CreatedAtWatcher(this.runner, this.callColumns());
  }

  private async rowsWhere(column: 'session_id' | 'trace_id', value: string): Promise<CallRow[]> {
    const source = this.runner.source();
    if (source === undefined) return [];
    const bound = new Bound(this.d);
    const rows = await this.runner.all(
      `SELECT ${this.callColumns()}, ${this.d.prompt} AS prompt, ${this.d.completion} AS completion
         FROM ${source} WHERE ${this.d.identifier(column)} = ${bound.add(value)}
        ORDER BY ${this.d.identifier('timestamp')}, ${this.d.eventIdText} LIMIT ${MAX_DETAIL_ROWS}`,
      bound.values,
    );
    return rows.map(callRowOf);
  }

  /** The columns of a CallRow, and `timestamp_us`. */
  callColumns(): string {
    const d = this.d;
    return [
      ...CALL_COLUMNS.map((column) =>
        column === 'event_id' ? `${d.eventIdText} AS event_id` : d.identifier(column),
      ),
      `${d.epochMicros} AS timestamp_us`,
    ].join(', ');
  }

  private modelCall(): string {
    return `(${this.d.identifier('model')} IS NOT NULL AND NOT ${this.d.repeatsUsage})`;
  }

  private inRange(filter: CallFilter, bound: Bound): string {
    const d = this.d;
    const ts = d.identifier('timestamp');
    const from = d.time(bound.add(d.timeValue(filter.from.toISOString().replace('Z', '000Z'))));
    const to = d.time(bound.add(d.timeValue(filter.to.toISOString().replace('Z', '000Z'))));
    return `${ts} >= ${from} AND ${ts} < ${to}`;
  }

  private matching(filter: CallFilter, bound: Bound): string[] {
    const conditions: string[] = [];
    for (const name of CALL_DIMENSION_NAMES) {
      const value = filter.where[name];
      if (value !== undefined)
        conditions.push(`${this.d.identifier(CALL_DIMENSIONS[name])} = ${bound.add(value)}`);
    }
    return conditions;
  }

  /**
   * One statement: an inner SELECT of the model calls in range (their group,
   * bucket and, for nearest-rank percentiles, ranks), summed per group (and
   * bucket) outside.
   */
  private async aggregate(
    filter: CallFilter,
    by: CallDimension | undefined,
    bucketSeconds: number | undefined,
  ): Promise<Record<string, unknown>[]> {
    const source = this.runner.source(filter);
    if (source === undefined) return [];
    const d = this.d;
    const q = (column: string) => d.identifier(column);
    const bound = new Bound(d);
    const where = [this.inRange(filter, bound), ...this.matching(filter, bound), this.modelCall()].join(
      ' AND ',
    );
    const group =
      by === undefined ? `'${ALL_CALLS}'` : `coalesce(${d.asText(q(CALL_DIMENSIONS[by]))}, '${NO_GROUP}')`;
    const bucket = bucketSeconds === undefined ? undefined : d.bucketStart(bucketSeconds);
    const partition = bucket === undefined ? group : `${group}, ${bucket}`;
    const ranked = d.percentiles === 'nearest-rank';
    const inner = [
      `${group} AS grp`,
      ...(bucket === undefined ? [] : [`${bucket} AS bucket`]),
      `CASE WHEN ${q('error')} IS NOT NULL THEN 1 ELSE 0 END AS failed`,
      q('input_tokens'),
      q('output_tokens'),
      q('cache_read_tokens'),
      q('cache_write_tokens'),
      q('cost_usd'),
      `CASE WHEN ${q('cost_usd')} IS NULL AND ${d.costSource} = 'unknown_model' THEN 1 ELSE 0 END AS unpriced`,
      `${q('duration_ms')} AS latency`,
      `${q('time_to_first_token_ms')} AS ttft`,
      ...(ranked
        ? [
            `ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY ${q('duration_ms')} IS NULL, ${q('duration_ms')}) AS latency_rank`,
            `COUNT(${q('duration_ms')}) OVER (PARTITION BY ${partition}) AS latency_count`,
            `ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY ${q('time_to_first_token_ms')} IS NULL, ${q('time_to_first_token_ms')}) AS ttft_rank`,
            `COUNT(${q('time_to_first_token_ms')}) OVER (PARTITION BY ${partition}) AS ttft_count`,
          ]
        : []),
    ];
    const percentile = (column: 'latency' | 'ttft', fraction: number) =>
      ranked
        ? `MIN(CASE WHEN ${column} IS NOT NULL AND ${column}_rank >= CEIL(${fraction} * ${column}_count) THEN ${column} END)`
        : d.percentile(column, fraction);
    const keys = bucket === undefined ? 'grp' : 'grp, bucket';
    const selected = bucket === undefined ? 'grp' : `grp, ${d.bucketEpoch?.('bucket') ?? 'bucket'} AS bucket`;
    return this.runner.all(
      `SELECT ${selected}, count(*) AS calls, sum(failed) AS errors,
              coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
              coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
              coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
              sum(cost_usd) AS cost_usd, sum(unpriced) AS unpriced,
              ${percentile('latency', 0.5)} AS latency_p50, ${percentile('latency', 0.95)} AS latency_p95,
              ${percentile('latency', 0.99)} AS latency_p99,
              ${percentile('ttft', 0.5)} AS ttft_p50, ${percentile('ttft', 0.95)} AS ttft_p95
         FROM (SELECT ${inner.join(', ')} FROM ${source} WHERE ${where}) AS model_calls
        GROUP BY ${keys}
        ORDER BY ${bucket === undefined ? '' : 'bucket, '}sum(cost_usd) IS NULL, sum(cost_usd) DESC, count(*) DESC, grp`,
      bound.values,
    );
  }
}

/**
 * The watcher of a store whose server stamps each row (`created_at`): each
 * look reads the rows stamped since the latest stamp seen, less an overlap,
 * among the rows of spans that started within the horizon (the `timestamp`
 * index narrows the read; `created_at` has none).
 */
class CreatedAtWatcher implements RowWatcher {
  private latest: bigint | undefined;
  /** event_id → created_at of the rows sent that are still within the overlap. */
  private readonly sent = new Map<string, bigint>();

  constructor(
    private readonly runner: QueryRunner,
    private readonly columns: string,
  ) {}

  async poll(): Promise<CallRow[]> {
    const d = this.runner.dialect;
    const source = this.runner.source();
    if (source === undefined || d.createdAtMicros === undefined || d.createdAfter === undefined) return [];
    const bound = new Bound(d);
    const horizon = new Date(Date.now() - LIVE_HORIZON_MILLIS).toISOString().replace('Z', '000Z');
    const inHorizon = `${d.identifier('timestamp')} >= ${d.time(bound.add(d.timeValue(horizon)))}`;
    const bearings = this.latest === undefined;
    if (this.latest === undefined) {
      const [found] = await this.runner.all(
        `SELECT max(${d.createdAtMicros}) AS latest FROM ${source} WHERE ${inHorizon}`,
        bound.values,
      );
      const latest = found?.latest;
      this.latest =
        latest === null || latest === undefined ? BigInt(Date.now()) * 1000n : BigInt(String(latest));
    }
    const since = this.latest - LIVE_OVERLAP_MICROS;
    const rows = await this.runner.all(
      `SELECT ${this.columns}, ${d.createdAtMicros} AS created_us FROM ${source}
        WHERE ${inHorizon} AND ${d.identifier('created_at')} >= ${d.createdAfter(bound.add(since.toString()))}
        ORDER BY ${d.identifier('created_at')} DESC, ${d.eventIdText} DESC LIMIT ${LIVE_MAX_ROWS}`,
      bound.values,
    );
    const fresh: CallRow[] = [];
    for (const row of rows.reverse()) {
      const id = String(row.event_id);
      if (this.sent.has(id)) continue;
      const created = BigInt(String(row.created_us));
      this.sent.set(id, created);
      if (created > this.latest) this.latest = created;
      // The first look only notes what is there: rows stored before it are the API's, not news.
      if (!bearings) fresh.push(callRowOf(row));
    }
    for (const [id, created] of this.sent)
      if (created < this.latest - LIVE_OVERLAP_MICROS) this.sent.delete(id);
    return fresh;
  }

  async close(): Promise<void> {
    this.sent.clear();
  }
}

function numberOf(value: unknown): number {
  return value === null || value === undefined ? 0 : Number(value);
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function stringOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function aggregatesOf(row: Record<string, unknown>): CallAggregates {
  const calls = numberOf(row.calls);
  const errors = numberOf(row.errors);
  return {
    calls,
    errors,
    error_rate: calls === 0 ? 0 : errors / calls,
    input_tokens: numberOf(row.input_tokens),
    output_tokens: numberOf(row.output_tokens),
    cache_read_tokens: numberOf(row.cache_read_tokens),
    cache_write_tokens: numberOf(row.cache_write_tokens),
    cost_usd: numberOrNull(row.cost_usd),
    unpriced: numberOf(row.unpriced),
    latency_ms: {
      p50: numberOrNull(row.latency_p50),
      p95: numberOrNull(row.latency_p95),
      p99: numberOrNull(row.latency_p99),
    },
    ttft_ms: { p50: numberOrNull(row.ttft_p50), p95: numberOrNull(row.ttft_p95) },
  };
}

export function callRowOf(row: Record<string, unknown>): CallRow {
  const call: Record<string, unknown> = {
    event_id: String(row.event_id),
    timestamp: epochMicrosToIsoMicros(BigInt(String(row.timestamp_us))),
  };
  for (const column of CALL_COLUMNS) {
    if (column === 'event_id') continue;
    const value = row[column];
    call[column] =
      typeof value === 'bigint' || (typeof value === 'string' && NUMERIC_COLUMNS.has(column))
        ? Number(value)
        : (value ?? null);
  }
  if (typeof row.prompt === 'string') call.prompt = row.prompt;
  if (typeof row.completion === 'string') call.completion = row.completion;
  return call as unknown as CallRow;
}

/** The columns of a CallRow that hold numbers: a driver may hand back a bigint or a decimal's text. */
const NUMERIC_COLUMNS = new Set<string>(
  CALL_COLUMNS.filter((column) => ['double', 'int32', 'int64'].includes(columnSpec(column).kind)),
);

function sessionOf(row: Record<string, unknown>): SessionSummary {
  return {
    session_id: String(row.session_id),
    rows: numberOf(row.row_count),
    calls: numberOf(row.calls),
    errors: numberOf(row.errors),
    input_tokens: numberOf(row.input_tokens),
    output_tokens: numberOf(row.output_tokens),
    cost_usd: numberOrNull(row.cost_usd),
    first_seen: epochMicrosToIsoMicros(BigInt(String(row.first_us))),
    last_seen: epochMicrosToIsoMicros(BigInt(String(row.last_us))),
    user_id: stringOrNull(row.user_id),
  };
}

/** Rows linked to their parents; a row whose parent is not among them is a root. Time order kept. */
export function traceTree(rows: readonly CallRow[]): TraceNode[] {
  const nodes = new Map<string, TraceNode & { children: TraceNode[] }>();
  for (const row of rows) nodes.set(row.span_id, { ...row, children: [] });
  const roots: TraceNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.parent_span_id === null ? undefined : nodes.get(node.parent_span_id);
    if (parent !== undefined && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

/** `%`, `_` and the escape character itself escaped with `!` (every dialect's `contains` says ESCAPE '!'). */
function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (character) => `!${character}`);
}

function encodeCursor(parts: readonly [string, string]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadCursorError();
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== 2 ||
    typeof parts[0] !== 'string' ||
    typeof parts[1] !== 'string'
  ) {
    throw new BadCursorError();
  }
  return [parts[0], parts[1]];
}

/** A cursor's instant must be one: the store would otherwise fail on it with its own message. */
export function isIsoMicros(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(text) && !Number.isNaN(Date.parse(text));
}
