/**
 * Makes a row fit its columns: the one validation of every row a sink is
 * given, whether the mapping built it, a user's `enrich` hook changed it, or
 * it was read back from a spill file. Each value either fits as it is, is
 * made to fit (strings cut to their column, made storable; JSON bounded in
 * depth), is stored as null and counted under `invalid_values` in
 * text_custom_metrics (a value of the wrong type or out of range in a
 * nullable column), or refuses the row with a RowShapeError naming the
 * column and the value (a NOT NULL column without a value it can store: an
 * event_id that is no UUID, a timestamp that is no instant, an
 * operation_type outside its vocabulary). docs/mapping.md lists each case.
 *
 * The mapping builds its rows to fit with the helpers here (a test holds it
 * to that: fitRow changes none of them).
 */
import { RefusedDataError } from '../errors.js';
import {
  INSERT_COLUMNS,
  type ColumnSpec,
  type JsonObject,
  type JsonValue,
  type MetricEvent,
} from './columns.js';
import { countInvalidValue } from './data-quality.js';

declare global {
  // ES2024, in Node since 20.0; the ES2024 lib would also admit APIs Node 20 lacks (Promise.withResolvers).
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/**
 * Levels of nesting a stored JSON document may have, its root object being
 * the first: MariaDB's JSON_VALID refuses 32 (MySQL allows 100, PostgreSQL
 * far more). A container that would be level 32 is stored as null.
 */
const JSON_MAX_DEPTH = 31;
const TIMESTAMP_PATTERN = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The text form of an int64 (a spill file writes a bigint so): an optional sign and up to 19 digits. */
const INT64_TEXT = /^-?\d{1,19}$/;

/**
 * A string every sink can store: lone surrogates become U+FFFD (they are not
 * UTF-8) and NUL characters go (PostgreSQL refuses them in text and JSONB).
 */
export function sanitizeText(value: string): string {
  const clean = value.isWellFormed() ? value : value.toWellFormed();
  return clean.includes('\0') ? clean.replaceAll('\0', '') : clean;
}

/**
 * What a string column stores: the value as text, cut to `maxLength` code
 * points, then made storable (cut first: the work stays bounded by the
 * column, however long the value).
 */
export function fitString(value: unknown, maxLength: number | undefined): string {
  const text = typeof value === 'string' ? value : String(value);
  return sanitizeText(maxLength === undefined ? text : truncateCodePoints(text, maxLength));
}

/** What an INTEGER column stores: the value when it is a 32-bit integer, else null. */
export function fitInt32(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX
    ? value
    : null;
}

/** What a BIGINT column stores: a safe integer, or a bigint in range (also given as its decimal text); else null. */
export function fitInt64(value: unknown): number | bigint | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value === 'bigint') return value >= INT64_MIN && value <= INT64_MAX ? value : null;
  if (typeof value === 'string' && INT64_TEXT.test(value)) {
    const big = BigInt(value);
    if (big < INT64_MIN || big > INT64_MAX) return null;
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  }
  return null;
}

/** What a DOUBLE column stores: a finite number, else null. */
export function fitDouble(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * A timestamp every sink stores as it is: the ISO form with six fractional
 * digits and `Z`, naming a real instant of years 1 to 9999 (PostgreSQL has no
 * year 0; MariaDB refuses 24:00, second 60 and February 30).
 */
export function isStorableTimestamp(value: string): boolean {
  const match = TIMESTAMP_PATTERN.exec(value);
  if (!match || match[1] === '0000') return false;
  const seconds = value.slice(0, 19);
  const millis = Date.parse(`${seconds}Z`);
  return !Number.isNaN(millis) && new Date(millis).toISOString().slice(0, 19) === seconds;
}

/** The first `max` code points of `value`, never splitting a surrogate pair. */
export function truncateCodePoints(value: string, max: number): string {
  if (value.length <= max) return value;
  let index = 0;
  for (let count = 0; count < max && index < value.length; count++) {
    const unit = value.charCodeAt(index);
    const pair =
      unit >= 0xd800 &&
      unit <= 0xdbff &&
      index + 1 < value.length &&
      isLowSurrogate(value.charCodeAt(index + 1));
    index += pair ? 2 : 1;
  }
  return value.slice(0, index);
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/**
 * A JSON value with clean strings, finite numbers, bigints as numbers (or
 * strings past 2^53) and bounded depth. `level` is how many containers
 * already enclose `value` in the stored document (0 for a column's root
 * object, 1 for a value inside it): depth counts from the column's root.
 * `onInvalid` hears of each value stored as null instead (a number that is not
 * finite, a container past JSON_MAX_DEPTH).
 */
export function sanitizeJson(value: unknown, level = 0, onInvalid?: () => void): JsonValue {
  switch (typeof value) {
    case 'string':
      return sanitizeText(value);
    case 'number':
      if (Number.isFinite(value)) return value;
      onInvalid?.();
      return null;
    case 'boolean':
      return value;
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value.toString();
    case 'object': {
      if (value === null) return null;
      if (level >= JSON_MAX_DEPTH) {
        onInvalid?.();
        return null;
      }
      if (Array.isArray(value)) return value.map((item) => sanitizeJson(item, level + 1, onInvalid));
      // A Date (or any value with toJSON) is stored as JSON.stringify would store it.
      const toJson = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJson === 'function') return sanitizeJson(toJson.call(value), level, onInvalid);
      const out: JsonObject = {};
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        setUserKey(out, sanitizeText(key), sanitizeJson(item, level + 1, onInvalid));
      }
      return out;
    }
    default:
      return null;
  }
}

/** Sets a key the user chose; `__proto__` is left out: assigning it would set the object's prototype. */
export function setUserKey(out: JsonObject, key: string, value: JsonValue): void {
  if (key !== '__proto__') out[key] = value;
}

/** A row refused before any sink saw it: a NOT NULL column holds no value it can store. */
export class RowShapeError extends RefusedDataError {
  readonly column: string;

  constructor(column: string, problem: string) {
    super(`metric_events.${column}: ${problem}`, { code: 'ROW_SHAPE' });
    this.column = column;
  }
}

/** The value, short enough for a message: strings quoted and cut, other types named. */
function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(sanitizeText(truncateCodePoints(value, 64)) + (value.length > 64 ? '…' : ''));
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'undefined':
      return 'no value';
    case 'object':
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
    default:
      return `a ${typeof value}`;
  }
}

/** What a column takes, in a message's words. */
function expected(spec: ColumnSpec): string {
  if (spec.values !== undefined) return `one of ${spec.values.join(', ')}`;
  switch (spec.kind) {
    case 'uuid':
      return 'a UUID (8-4-4-4-12 hex digits)';
    case 'string':
    case 'text':
      return 'a string';
    case 'timestamp':
      return 'an ISO-8601 UTC string with 6 fractional digits (2026-01-02T03:04:05.123456Z) of years 1 to 9999';
    case 'double':
      return 'a finite number';
    case 'int32':
      return 'an integer from -2^31 to 2^31-1';
    case 'int64':
      return 'a safe integer, a bigint or the decimal text of a 64-bit integer';
    case 'json':
      return 'a JSON object';
  }
}

/** The columns whose values fitRow stored as null, with how many values each. */
type InvalidColumns = Map<string, number>;

/** Stores a value the column cannot hold: null, counted, in a nullable column; the row refused in a NOT NULL one. */
function invalid(spec: ColumnSpec, value: unknown, counts: InvalidColumns): null {
  if (!spec.nullable)
    throw new RowShapeError(spec.name, `expects ${expected(spec)}, got ${describeValue(value)}`);
  counts.set(spec.name, (counts.get(spec.name) ?? 0) + 1);
  return null;
}

function fitValue(spec: ColumnSpec, value: unknown, counts: InvalidColumns): unknown {
  if (value === null || value === undefined) {
    if (!spec.nullable) throw new RowShapeError(spec.name, 'is NOT NULL but the row has no value');
    return null;
  }
  switch (spec.kind) {
    case 'uuid':
      return typeof value === 'string' && UUID_PATTERN.test(value)
        ? value.toLowerCase()
        : invalid(spec, value, counts);
    case 'string':
    case 'text':
      if (typeof value !== 'string') return invalid(spec, value, counts);
      if (spec.values !== undefined && !spec.values.includes(value)) return invalid(spec, value, counts);
      return fitString(value, spec.maxLength);
    case 'timestamp':
      return typeof value === 'string' && isStorableTimestamp(value) ? value : invalid(spec, value, counts);
    case 'double':
      return fitDouble(value) ?? invalid(spec, value, counts);
    case 'int32':
      return fitInt32(value) ?? invalid(spec, value, counts);
    case 'int64':
      return fitInt64(value) ?? invalid(spec, value, counts);
    case 'json': {
      const onInvalid = () => counts.set(spec.name, (counts.get(spec.name) ?? 0) + 1);
      // A plain value or an array is kept under `value`: the column holds an object, one level down.
      if (typeof value !== 'object' || Array.isArray(value))
        return { value: sanitizeJson(value, 1, onInvalid) };
      const json = sanitizeJson(value, 0, onInvalid);
      return json !== null && typeof json === 'object' && !Array.isArray(json) ? json : { value: json };
    }
  }
}

/**
 * Returns a copy of `row` whose every value fits its column (see the module
 * comment); values stored as null instead are counted by column under
 * text_custom_metrics.invalid_values. Throws RowShapeError when a NOT NULL
 * column has no value it can store.
 */
export function fitRow(row: Readonly<Record<string, unknown>>): MetricEvent {
  // A row read back from a file may be any JSON value.
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw new RowShapeError('(row)', `expects an object of columns, got ${describeValue(row)}`);
  }
  const out: Record<string, unknown> = {};
  const counts: InvalidColumns = new Map();
  for (const spec of INSERT_COLUMNS) out[spec.name] = fitValue(spec, row[spec.name], counts);
  if (counts.size > 0) {
    const metrics = (out['text_custom_metrics'] as JsonObject | null) ?? {};
    for (const [column, count] of counts) countInvalidValue(metrics, column, count);
    out['text_custom_metrics'] = metrics;
  }
  return out as MetricEvent;
}
