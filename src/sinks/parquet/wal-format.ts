/**
 * The content of a write-ahead log segment. Pure: strings in, strings or
 * column values out. Version 2 (this release) puts each record in a frame
 * (wal-frames.ts: marker, length, checksums) so that damage costs one record:
 *
 *   [frame: segment] {"format":"llamonitor-wal","version":2,"fileRows":100000,"scalarColumns":[...],...}
 *   [frame: batch 1, 2 rows] {"createdAt":"2026-01-02T03:04:05.123456Z"}          one per write
 *   [frame: rows of batch 1, 2 rows] ["6f1c...","1.0.0",...,42]\t{"input_tokens":12}\tnull\t{...}\n ...
 *
 * A batch's rows come in one or more rows records (one per slice the writer
 * made). Version 1 (earlier releases, still read) had no frames: a header
 * line, then per write a line `{"batch":2,"createdAt":...}` and its rows.
 *
 * A row is one line: the JSON array of its scalar columns, then each JSON
 * column's own JSON text after a tab (JSON.stringify never writes a raw tab or
 * newline). So JSON values are serialised once, on the way in, and reach the
 * Parquet file as the same text: the converter never parses them. A batch
 * counts only when all the rows its header announces are there, so a write cut
 * short by a crash (never acknowledged) is dropped whole. int64 values beyond
 * 2^53 travel as decimal strings.
 */
import { COLUMNS, INSERT_COLUMNS, type ColumnSpec, type MetricEvent } from '../../schema/columns.js';
import { isoMicrosToEpochMicros } from '../../schema/timestamps.js';

export const WAL_FORMAT = 'llamonitor-wal';
/** The version this release writes. */
export const WAL_VERSION = 2;
/** Unframed lines, written by releases before frames; still recovered. */
export const LEGACY_WAL_VERSION = 1;

export class WalFormatError extends Error {
  constructor(problem: string) {
    super(`write-ahead log segment: ${problem}`);
    this.name = 'WalFormatError';
  }
}

export interface SegmentLayout {
  readonly scalarColumns: readonly string[];
  readonly jsonColumns: readonly string[];
}

export interface SegmentHeader extends SegmentLayout {
  readonly version: typeof WAL_VERSION | typeof LEGACY_WAL_VERSION;
  /**
   * Rows per Parquet file, as configured when the segment was created: a
   * conversion after a restart with another setting cuts the same files.
   */
  readonly fileRows: number;
}

export interface BatchHeader {
  readonly rows: number;
  /** When the rows were stored: the Parquet file's created_at. */
  readonly createdAt: string;
}

const SCALAR_NAMES = INSERT_COLUMNS.filter((c) => c.kind !== 'json').map((c) => c.name);
const JSON_NAMES = INSERT_COLUMNS.filter((c) => c.kind === 'json').map((c) => c.name);

/** The layout this version writes. */
export const CURRENT_LAYOUT: SegmentLayout = { scalarColumns: SCALAR_NAMES, jsonColumns: JSON_NAMES };

/** The payload of a segment's first record. */
export function segmentHeaderPayload(fileRows: number): string {
  return JSON.stringify({ format: WAL_FORMAT, version: WAL_VERSION, fileRows, ...CURRENT_LAYOUT });
}

/** The payload of a batch header record: its row count and number are in the frame. */
export function batchHeaderPayload(createdAt: string): string {
  return JSON.stringify({ createdAt });
}

/** Reused by encodeRowLine: JSON.stringify reads it at once, so one array serves every row. */
const scalarValues: unknown[] = new Array(SCALAR_NAMES.length);

/** The line of one row, newline included: the one serialisation a row gets on the application's thread. */
export function encodeRowLine(row: MetricEvent): string {
  const values = row as unknown as Record<string, unknown>;
  for (let c = 0; c < SCALAR_NAMES.length; c++) {
    const value = values[SCALAR_NAMES[c] as string];
    scalarValues[c] = typeof value === 'bigint' ? value.toString() : (value ?? null);
  }
  let line = JSON.stringify(scalarValues);
  for (const name of JSON_NAMES) line += `\t${JSON.stringify(values[name] ?? null)}`;
  return `${line}\n`;
}

function parseJsonObject(line: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new WalFormatError(`${what} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WalFormatError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** A segment header, version 1 (its first line) or 2 (its first record's payload). */
export function parseSegmentHeader(text: string): SegmentHeader {
  const header = parseJsonObject(text, 'the header');
  if (header.format !== WAL_FORMAT) throw new WalFormatError(`the header does not name ${WAL_FORMAT}`);
  const version = header.version;
  if (version !== WAL_VERSION && version !== LEGACY_WAL_VERSION) {
    throw new WalFormatError(
      `version ${String(version)} is not one this release reads (${LEGACY_WAL_VERSION} or ${WAL_VERSION}); a newer llamonitor-otel may`,
    );
  }
  if (!isStringArray(header.scalarColumns) || !isStringArray(header.jsonColumns)) {
    throw new WalFormatError('the header lists no columns');
  }
  const fileRows = header.fileRows;
  if (typeof fileRows !== 'number' || !Number.isSafeInteger(fileRows) || fileRows < 1) {
    throw new WalFormatError('the header lacks the rows per file');
  }
  return { version, scalarColumns: header.scalarColumns, jsonColumns: header.jsonColumns, fileRows };
}

/** The time of a version 2 batch header record. */
export function parseBatchPayload(text: string): string {
  const createdAt = parseJsonObject(text, 'a batch header').createdAt;
  if (typeof createdAt !== 'string') throw new WalFormatError('a batch header lacks its time');
  return createdAt;
}

/** A version 1 batch header line. */
export function parseBatchHeader(line: string): BatchHeader {
  const header = parseJsonObject(line, 'a batch header');
  const rows = header.batch;
  const createdAt = header.createdAt;
  if (typeof rows !== 'number' || !Number.isSafeInteger(rows) || rows < 0 || typeof createdAt !== 'string') {
    throw new WalFormatError('a batch header lacks its row count or time');
  }
  return { rows, createdAt };
}

/** Column arrays in the order of COLUMNS (created_at included), ready for the Parquet writer. */
export type ColumnArrays = unknown[][];

export function emptyColumnArrays(): ColumnArrays {
  return COLUMNS.map(() => []);
}

type Convert = (value: unknown) => unknown;

const digit = (text: string, index: number) => text.charCodeAt(index) - 48;
const twoDigits = (text: string, index: number) => digit(text, index) * 10 + digit(text, index + 1);

/**
 * `2026-01-02T03:04:05.123456Z` to epoch microseconds, parsing the date only
 * when it changes: rows of one segment share a few dates, and Date.parse per
 * row is most of the cost of reading one.
 */
function timestampConverter(): Convert {
  let date = '';
  let dateSeconds = 0;
  return (value) => {
    if (typeof value !== 'string') return null;
    if (value.length !== 27) return isoMicrosToEpochMicros(value);
    if (date === '' || !value.startsWith(date)) {
      date = value.slice(0, 11);
      dateSeconds = Date.parse(`${date}00:00:00Z`) / 1000;
    }
    const seconds =
      dateSeconds + twoDigits(value, 11) * 3600 + twoDigits(value, 14) * 60 + twoDigits(value, 17);
    let fraction = 0;
    for (let index = 20; index < 26; index++) fraction = fraction * 10 + digit(value, index);
    const micros = seconds * 1_000_000 + fraction;
    return Number.isSafeInteger(micros) ? BigInt(micros) : isoMicrosToEpochMicros(value);
  };
}

function converterFor(spec: ColumnSpec): Convert {
  switch (spec.kind) {
    case 'timestamp':
      return timestampConverter();
    case 'int64':
      return (value) => (typeof value === 'number' || typeof value === 'string' ? BigInt(value) : null);
    default:
      return (value) => value;
  }
}

/**
 * Returns a function that appends one row line to `columns`, with the
 * batch's created_at. Columns a segment lacks (written by an older version)
 * get null; columns this version does not know are ignored. A line that
 * throws may have appended part of its row: the caller drops its whole batch.
 */
export function createRowDecoder(layout: SegmentLayout, columns: ColumnArrays) {
  const position = new Map(COLUMNS.map((c, index) => [c.name as string, index]));
  const scalarTargets = layout.scalarColumns.map((name) => position.get(name) ?? -1);
  const scalarConverters = layout.scalarColumns.map((name) => {
    const index = position.get(name);
    return index === undefined ? undefined : converterFor(COLUMNS[index] as ColumnSpec);
  });
  const jsonTargets = layout.jsonColumns.map((name) => position.get(name) ?? -1);
  const filled = new Set([...scalarTargets, ...jsonTargets]);
  const createdAtIndex = position.get('created_at') as number;
  const missing = COLUMNS.map((_, index) => index).filter(
    (index) => !filled.has(index) && index !== createdAtIndex,
  );
  const scalarCount = layout.scalarColumns.length;
  const jsonCount = layout.jsonColumns.length;

  return (line: string, createdAtMicros: bigint): void => {
    const fields = line.split('\t');
    if (fields.length !== jsonCount + 1)
      throw new WalFormatError(`a row has ${fields.length - 1} JSON fields`);
    let scalars: unknown;
    try {
      scalars = JSON.parse(fields[0] as string);
    } catch {
      throw new WalFormatError('a row is not JSON');
    }
    if (!Array.isArray(scalars) || scalars.length !== scalarCount) {
      throw new WalFormatError('a row does not hold one value per column');
    }
    for (let c = 0; c < scalarCount; c++) {
      const target = scalarTargets[c] as number;
      if (target < 0) continue;
      const value = scalars[c] as unknown;
      (columns[target] as unknown[]).push(value === null ? null : (scalarConverters[c] as Convert)(value));
    }
    for (let j = 0; j < jsonCount; j++) {
      const target = jsonTargets[j] as number;
      if (target < 0) continue;
      const text = fields[j + 1] as string;
      (columns[target] as unknown[]).push(text === 'null' ? null : text);
    }
    for (const index of missing) (columns[index] as unknown[]).push(null);
    (columns[createdAtIndex] as unknown[]).push(createdAtMicros);
  };
}
