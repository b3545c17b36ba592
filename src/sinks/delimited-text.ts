/**
 * The one bulk encoder for PostgreSQL's COPY text format and MySQL's
 * LOAD DATA (FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n').
 * Both read tab-separated fields, `\N` for null, and backslash escapes for
 * backslash, tab, newline and carriage return, so every value reaches the
 * server as data whatever characters it holds.
 */
import { type ColumnSpec, type MetricEvent } from '../schema/columns.js';
import { isoMicrosToMySql } from '../schema/timestamps.js';

export type DelimitedDialect = 'postgres' | 'mysql';

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPABLE = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export function escapeField(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPABLE, (ch) => ESCAPES[ch] as string) : text;
}

/** JSON text holds no raw tab, newline or carriage return (JSON escapes them), so only backslashes need doubling. */
function escapeJson(json: string): string {
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}

type FieldEncoder = (value: unknown) => string;

/** Any value as escaped text: one of an unexpected type (a string in a numeric column) is still one field. */
function escapedText(value: unknown): string {
  return escapeField(typeof value === 'string' ? value : String(value));
}

/** A number's own text holds only digits, signs, `.`, `e` and letters: no escape needed. */
function numberText(value: unknown): string {
  return typeof value === 'number' || typeof value === 'bigint' ? String(value) : escapedText(value);
}

function fieldEncoder(spec: ColumnSpec, dialect: DelimitedDialect): FieldEncoder {
  switch (spec.kind) {
    case 'timestamp':
      return dialect === 'mysql'
        ? (v) => (typeof v === 'string' ? escapeField(isoMicrosToMySql(v)) : escapedText(v))
        : escapedText;
    case 'json':
      return (v) => escapeJson(JSON.stringify(v) ?? 'null');
    case 'double':
    case 'int32':
    case 'int64':
      return numberText;
    default:
      return escapedText;
  }
}

/**
 * Encodes rows (already fitted to their columns) in the column order given;
 * a column named in `fixed` gets that text in every row, whatever the row holds
 * (schema_version, in a table of an earlier version).
 */
export function createDelimitedEncoder(
  columns: readonly ColumnSpec[],
  dialect: DelimitedDialect,
  fixed: Readonly<Record<string, string>> = {},
): (rows: readonly MetricEvent[], start?: number, end?: number) => string {
  const names = columns.map((c) => c.name);
  const encoders = columns.map((c): FieldEncoder => {
    const text = fixed[c.name];
    return text === undefined ? fieldEncoder(c, dialect) : () => escapeField(text);
  });
  const width = names.length;
  return (rows, start = 0, end = rows.length) => {
    let out = '';
    for (let r = start; r < end; r++) {
      const row = rows[r] as unknown as Record<string, unknown>;
      for (let c = 0; c < width; c++) {
        const value = row[names[c] as string];
        if (c > 0) out += '\t';
        out += value === null || value === undefined ? '\\N' : (encoders[c] as FieldEncoder)(value);
      }
      out += '\n';
    }
    return out;
  };
}
