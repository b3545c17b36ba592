/**
 * Makes a row fit its columns: the one place that knows what each column can
 * hold. The mapping builds its rows to fit with the helpers here (a test holds
 * it to that: fitRow changes none of them); the exporter runs fitRow after a
 * user's `enrich` hook, so no sink ever sees a value its database would refuse.
 */
import { COLUMNS, type ColumnSpec, type JsonObject, type JsonValue, type MetricEvent } from './columns.js';

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
/** Levels of nesting a JSON value keeps: MariaDB's json_valid refuses 32 (MySQL 100, PostgreSQL deeper). */
const JSON_MAX_DEPTH = 31;
const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * A string every sink can store: lone surrogates become U+FFFD (they are not
 * UTF-8) and NUL characters go (PostgreSQL refuses them in text and JSONB).
 */
export function sanitizeText(value: string): string {
  const clean = value.isWellFormed() ? value : value.toWellFormed();
  return clean.includes('\0') ? clean.replaceAll('\0', '') : clean;
}

/** What a string column stores: the value as text, made storable, then cut to `maxLength` code points. */
export function fitString(value: unknown, maxLength: number | undefined): string {
  const text = sanitizeText(typeof value === 'string' ? value : String(value));
  return maxLength === undefined ? text : truncateCodePoints(text, maxLength);
}

/** What an INTEGER column stores: the value when it is a 32-bit integer, else null. */
export function fitInt32(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX
    ? value
    : null;
}

/** What a BIGINT column stores: a safe integer, or a bigint in range; else null. */
export function fitInt64(value: unknown): number | bigint | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value === 'bigint') return value >= INT64_MIN && value <= INT64_MAX ? value : null;
  return null;
}

/** What a DOUBLE column stores: a finite number, else null. */
export function fitDouble(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
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

/** A JSON value with clean strings, finite numbers, bigints as numbers or strings, and bounded depth. */
export function sanitizeJson(value: unknown, depth = 0): JsonValue {
  switch (typeof value) {
    case 'string':
      return sanitizeText(value);
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'boolean':
      return value;
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value.toString();
    case 'object': {
      if (value === null) return null;
      if (depth >= JSON_MAX_DEPTH) return null;
      if (Array.isArray(value)) return value.map((item) => sanitizeJson(item, depth + 1));
      const out: JsonObject = {};
      for (const [key, item] of Object.entries(value)) {
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        setUserKey(out, sanitizeText(key), sanitizeJson(item, depth + 1));
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

export class RowShapeError extends Error {
  constructor(column: string, problem: string) {
    super(`metric_events.${column}: ${problem}`);
    this.name = 'RowShapeError';
  }
}

function fitValue(spec: ColumnSpec, value: unknown): unknown {
  if (value === null || value === undefined) {
    if (!spec.nullable) throw new RowShapeError(spec.name, 'is NOT NULL but the row has no value');
    return null;
  }
  switch (spec.kind) {
    case 'uuid':
    case 'string':
    case 'text':
      return fitString(value, spec.maxLength);
    case 'timestamp':
      if (typeof value !== 'string' || !TIMESTAMP_PATTERN.test(value)) {
        throw new RowShapeError(
          spec.name,
          `expects an ISO-8601 UTC string with 6 fractional digits, got ${String(value)}`,
        );
      }
      return value;
    case 'double':
      return fitDouble(value);
    case 'int32':
      return fitInt32(value);
    case 'int64':
      return fitInt64(value);
    case 'json': {
      const json = sanitizeJson(value);
      return json !== null && typeof json === 'object' && !Array.isArray(json) ? json : { value: json };
    }
  }
}

/** Returns a copy of `row` whose every value fits its column; throws RowShapeError for a missing NOT NULL value. */
export function fitRow(row: Readonly<Record<string, unknown>>): MetricEvent {
  const out: Record<string, unknown> = {};
  for (const spec of COLUMNS as readonly ColumnSpec[]) {
    if (spec.databaseDefault !== undefined) continue;
    out[spec.name] = fitValue(spec, row[spec.name]);
  }
  return out as MetricEvent;
}
