/**
 * A spill file's contents: line 1 a header (format, table, schema, row count,
 * when, why, SHA-256 of the rest), then one JSON row per line, 64-bit integers
 * as decimal strings. Reading one back checks the header and the checksum, and
 * fits every row to its columns with fitRow, as the mapping's rows are: a file
 * edited by hand (its checksum made to match) can hold anything.
 */
import { createHash } from 'node:crypto';
import { COLUMNS, type MetricEvent } from '../schema/columns.js';
import { fitRow } from '../schema/fit-row.js';

const FORMAT = 'llamonitor-spill/1';
const ROWS_PER_CHUNK = 2_000;
const REASON_MAX_CHARS = 2_000;
const INT64_COLUMNS = COLUMNS.filter((c) => c.kind === 'int64').map((c) => c.name);
/** The text a bigint is written as; anything else in an int64 column is left for fitRow to judge. */
const INT64_TEXT = /^-?\d{1,19}$/;

export interface SpillDestination {
  readonly table: string;
  readonly schema?: string | undefined;
}

export interface SpilledBatch extends SpillDestination {
  readonly rows: MetricEvent[];
  readonly reason: string;
}

interface SpillHeader {
  readonly format: string;
  readonly table: string;
  readonly schema: string | null;
  readonly rows: number;
  readonly created: string;
  readonly reason: string;
  readonly sha256: string;
}

/** A spill file that cannot be replayed as it is: damaged, not a spill, or holding a row no sink may take. */
export class CorruptSpillError extends Error {
  constructor(file: string, problem: string) {
    super(`spill file ${file} is unusable: ${problem}`);
    this.name = 'CorruptSpillError';
  }
}

/** A JSON.stringify replacer: 64-bit counts as their decimal text. */
export function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** The bytes of a spill file holding `rows`: the header line first, then the rows in chunks. */
export function encodeSpill(
  rows: readonly MetricEvent[],
  destination: SpillDestination,
  reason: string,
  now = new Date(),
): Buffer[] {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for (let start = 0; start < rows.length; start += ROWS_PER_CHUNK) {
    let chunk = '';
    const end = Math.min(rows.length, start + ROWS_PER_CHUNK);
    for (let i = start; i < end; i++) chunk += JSON.stringify(rows[i], bigintAsString) + '\n';
    const bytes = Buffer.from(chunk, 'utf8');
    hash.update(bytes);
    chunks.push(bytes);
  }
  const header: SpillHeader = {
    format: FORMAT,
    table: destination.table,
    schema: destination.schema ?? null,
    rows: rows.length,
    created: now.toISOString(),
    reason: reason.slice(0, REASON_MAX_CHARS),
    sha256: hash.digest('hex'),
  };
  return [Buffer.from(JSON.stringify(header) + '\n', 'utf8'), ...chunks];
}

function parseHeader(file: string, line: string): SpillHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new CorruptSpillError(file, 'the header is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CorruptSpillError(file, 'the header is not a JSON object');
  const header = parsed as Partial<SpillHeader>;
  if (header.format !== FORMAT) throw new CorruptSpillError(file, `unknown format ${String(header.format)}`);
  if (typeof header.table !== 'string' || header.table === '')
    throw new CorruptSpillError(file, 'the header names no table');
  if (header.schema !== null && header.schema !== undefined && typeof header.schema !== 'string')
    throw new CorruptSpillError(file, 'the header’s schema is not a string');
  if (!Number.isSafeInteger(header.rows) || (header.rows as number) < 0)
    throw new CorruptSpillError(file, 'the header’s row count is not a count');
  return header as SpillHeader;
}

/** One row as fitRow returns it; throws CorruptSpillError naming the row and why it cannot be stored. */
function readRow(file: string, line: string, index: number): MetricEvent {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch (error) {
    throw new CorruptSpillError(file, `row ${index} is unreadable: ${(error as Error).message}`);
  }
  if (typeof row === 'object' && row !== null && !Array.isArray(row)) {
    const columns = row as Record<string, unknown>;
    for (const column of INT64_COLUMNS) {
      const value = columns[column];
      if (typeof value === 'string' && INT64_TEXT.test(value)) columns[column] = BigInt(value);
    }
  }
  try {
    return fitRow(row as Readonly<Record<string, unknown>>);
  } catch (error) {
    throw new CorruptSpillError(file, `row ${index} cannot be stored: ${(error as Error).message}`);
  }
}

/** The batch a spill file's text holds; throws CorruptSpillError when the file is damaged or holds a row no sink may take. */
export function decodeSpill(file: string, text: string): SpilledBatch {
  const newline = text.indexOf('\n');
  if (newline < 0) throw new CorruptSpillError(file, 'no header line');
  const header = parseHeader(file, text.slice(0, newline));
  const body = text.slice(newline + 1);
  const digest = createHash('sha256').update(body).digest('hex');
  if (digest !== header.sha256)
    throw new CorruptSpillError(file, 'the checksum does not match (truncated or changed)');
  const rows: MetricEvent[] = [];
  for (const line of body.split('\n')) {
    if (line !== '') rows.push(readRow(file, line, rows.length + 1));
  }
  if (rows.length !== header.rows) {
    throw new CorruptSpillError(file, `the header counts ${header.rows} rows, the file holds ${rows.length}`);
  }
  return {
    table: header.table,
    schema: header.schema ?? undefined,
    rows,
    reason: typeof header.reason === 'string' ? header.reason : '',
  };
}

/** What a header line declares about its file, read without the rest; undefined when it is no spill header. */
export function headerSummary(line: string): { readonly rows: number; readonly created: string } | undefined {
  try {
    const header = JSON.parse(line) as Partial<SpillHeader>;
    if (header.format !== FORMAT || !Number.isSafeInteger(header.rows)) return undefined;
    return { rows: header.rows as number, created: typeof header.created === 'string' ? header.created : '' };
  } catch {
    return undefined;
  }
}
