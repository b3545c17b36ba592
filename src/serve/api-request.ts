/**
 * The query string of each REST endpoint, checked: every parameter known,
 * given once and well formed, or a RequestError (400) that names it and says
 * what it takes. Pure: no I/O.
 */
import {
  BUCKET_SECONDS,
  CALL_DIMENSION_NAMES,
  MAX_PAGE,
  SESSION_SORTS,
  type Bucket,
  type CallDimension,
  type CallFilter,
  type SessionSort,
} from '../sinks/call-queries.js';

/** A request the API refuses: `status` (400, 404, …) and a message that says what to change. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** The range when `from` is not given: the last day. */
export const DEFAULT_RANGE_MILLIS = 86_400_000;
export const DEFAULT_PAGE = 100;
/** Most buckets a time series may have: a wider range needs a wider bucket. */
export const MAX_BUCKETS = 10_000;

export interface SummaryParams {
  readonly filter: CallFilter;
  /** Undefined: one group of every call, `(all)`. */
  readonly by: CallDimension | undefined;
}

export interface TimeseriesParams {
  readonly filter: CallFilter;
  readonly bucket: Bucket;
  readonly by: CallDimension | undefined;
}

export interface PageParams {
  readonly filter: CallFilter;
  readonly limit: number;
  readonly cursor: string | undefined;
}

export interface SessionsParams extends PageParams {
  readonly q: string | undefined;
  readonly sort: SessionSort;
}

const RANGE = ['from', 'to'] as const;
const FILTERS = CALL_DIMENSION_NAMES;

/** The parameters of one request, each read at most once; those left over are unknown. */
class Params {
  private readonly values = new Map<string, string>();

  constructor(
    search: URLSearchParams,
    private readonly endpoint: string,
    private readonly allowed: readonly string[],
  ) {
    for (const [name, value] of search) {
      if (!allowed.includes(name)) {
        throw new RequestError(
          400,
          `${endpoint} takes no parameter '${name}'; it takes ${allowed.length > 0 ? allowed.join(', ') : 'none'}`,
        );
      }
      if (this.values.has(name))
        throw new RequestError(400, `${endpoint}: '${name}' is given more than once`);
      this.values.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  oneOf<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (!(choices as readonly string[]).includes(value)) {
      throw new RequestError(400, `${this.endpoint}: ${name}=${value} is not one of ${choices.join(', ')}`);
    }
    return value as T;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    const number = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
    if (!(number >= min && number <= max)) {
      throw new RequestError(
        400,
        `${this.endpoint}: ${name}=${value} is not a whole number from ${min} to ${max}`,
      );
    }
    return number;
  }

  filter(now: number): CallFilter {
    const to = this.time('to') ?? new Date(now);
    const from = this.time('from') ?? new Date(to.getTime() - DEFAULT_RANGE_MILLIS);
    if (from.getTime() >= to.getTime()) {
      throw new RequestError(
        400,
        `${this.endpoint}: from ${from.toISOString()} is not before to ${to.toISOString()}`,
      );
    }
    const where: Partial<Record<CallDimension, string>> = {};
    for (const name of FILTERS) {
      const value = this.get(name);
      if (value === undefined) continue;
      if (value.length === 0) throw new RequestError(400, `${this.endpoint}: ${name} is empty`);
      where[name] = value;
    }
    return { from, to, where };
  }

  /** ISO 8601 with a zone (`Z` or `±hh:mm`), or a day (its midnight UTC). */
  private time(name: string): Date | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
    const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
    const millis = day ? Date.parse(`${value}T00:00:00Z`) : zoned ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(millis)) {
      throw new RequestError(
        400,
        `${this.endpoint}: ${name}=${value} is not an ISO 8601 time with a zone (2026-12-05T10:00:00Z) or a day (2026-12-05)`,
      );
    }
    return new Date(millis);
  }
}

export function summaryParams(search: URLSearchParams, now: number): SummaryParams {
  const params = new Params(search, '/api/summary', [...RANGE, 'by', ...FILTERS]);
  return { filter: params.filter(now), by: params.oneOf('by', CALL_DIMENSION_NAMES) };
}

export function timeseriesParams(search: URLSearchParams, now: number): TimeseriesParams {
  const params = new Params(search, '/api/timeseries', [...RANGE, 'bucket', 'by', ...FILTERS]);
  const filter = params.filter(now);
  const span = (filter.to.getTime() - filter.from.getTime()) / 1000;
  const bucket = params.oneOf('bucket', Object.keys(BUCKET_SECONDS) as Bucket[]) ?? bucketFor(span);
  const buckets = Math.ceil(span / BUCKET_SECONDS[bucket]);
  if (buckets > MAX_BUCKETS) {
    throw new RequestError(
      400,
      `/api/timeseries: ${buckets} buckets of ${bucket} in this range, more than ${MAX_BUCKETS}: choose a wider bucket or a shorter range`,
    );
  }
  return { filter, bucket, by: params.oneOf('by', CALL_DIMENSION_NAMES) };
}

/** The bucket a range gets when none is asked for: at most about 360 points (up to 6 h: minutes; up to 14 days: hours). */
function bucketFor(seconds: number): Bucket {
  if (seconds <= 6 * 3600) return '1m';
  if (seconds <= 14 * 86_400) return '1h';
  return '1d';
}

export function callsParams(search: URLSearchParams, now: number): PageParams {
  const params = new Params(search, '/api/calls', [...RANGE, ...FILTERS, 'limit', 'cursor']);
  return pageOf(params, now);
}

export function sessionsParams(search: URLSearchParams, now: number): SessionsParams {
  const params = new Params(search, '/api/sessions', [...RANGE, ...FILTERS, 'q', 'sort', 'limit', 'cursor']);
  const q = params.get('q');
  return {
    ...pageOf(params, now),
    q: q === '' ? undefined : q,
    sort: params.oneOf('sort', SESSION_SORTS) ?? 'last',
  };
}

/** `/api/live`: only the rows of one model or session, when given. */
export function liveParams(search: URLSearchParams): { model?: string; session?: string } {
  const params = new Params(search, '/api/live', ['model', 'session']);
  const model = params.get('model');
  const session = params.get('session');
  return {
    ...(model === undefined || model === '' ? {} : { model }),
    ...(session === undefined || session === '' ? {} : { session }),
  };
}

/** An endpoint whose only input is its path (`/api/sessions/:id`, `/api/traces/:id`). */
export function noParams(search: URLSearchParams, endpoint: string): void {
  new Params(search, endpoint, []);
}

function pageOf(params: Params, now: number): PageParams {
  const cursor = params.get('cursor');
  return {
    filter: params.filter(now),
    limit: params.integer('limit', 1, MAX_PAGE) ?? DEFAULT_PAGE,
    cursor: cursor === '' ? undefined : cursor,
  };
}
