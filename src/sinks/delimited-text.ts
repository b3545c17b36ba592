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

function fieldEncoder(spec: ColumnSpec, dialect: DelimitedDialect): FieldEncoder {
  switch (spec.kind) {
    case 'timestamp':
      return dialect === 'mysql' ? (v) => isoMicrosToMySql(v as string) : (v) => v as string;
    case 'json':
      return (v) => escapeJson(JSON.stringify(v));
    case 'double':
    case 'int32':
    case 'int64':
      return (v) => String(v);
    default:
      return (v) => escapeField(v as string);
  }
}

/** Encodes rows (already fitted to their columns) in the column order given. */
export function createDelimitedEncoder(
  columns: readonly ColumnSpec[],
  dialect: DelimitedDialect,
): (rows: readonly MetricEvent[], start?: number, end?: number) => string {
  const names = columns.map((c) => c.name);
  const encoders = columns.map((c) => fieldEncoder(c, dialect));
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
