/**
 * Multi-row INSERT IGNORE statements, every value escaped by the driver,
 * grouped so that no statement exceeds a byte budget below the server's
 * max_allowed_packet. Pure: the writer runs what this plans.
 */
import type { ColumnSpec, MetricEvent } from '../../schema/columns.js';
import { ALL_COLUMNS, type WrittenColumns } from '../table-columns.js';
import { isoMicrosToMySql } from '../../schema/timestamps.js';
import { quoteIdentifier } from './ddl.js';
import { RefusedDataError } from '../../errors.js';

/** The driver's value escaping (mysql2's `escape`). */
export type Escape = (value: unknown) => string;

type ValueEncoder = (value: unknown) => string;

function valueEncoder(spec: ColumnSpec, escape: Escape): ValueEncoder {
  switch (spec.kind) {
    case 'timestamp':
      return (v) => escape(isoMicrosToMySql(v as string));
    case 'json':
      // The driver would turn an object into `key` = value pairs: JSON goes as a string.
      return (v) => escape(JSON.stringify(v));
    case 'double':
    case 'int32':
    case 'int64':
      return (v) => (typeof v === 'number' || typeof v === 'bigint' ? String(v) : escape(v));
    default:
      return (v) => escape(v);
  }
}

/** Encodes one row as `(v1,v2,...)`, its `written` columns in order. */
export function createTupleEncoder(
  escape: Escape,
  written: WrittenColumns = ALL_COLUMNS,
): (row: MetricEvent) => string {
  const names = written.columns.map((c) => c.name);
  const encoders = written.columns.map((c): ValueEncoder => {
    const fixed = written.fixed[c.name];
    if (fixed === undefined) return valueEncoder(c, escape);
    const text = escape(fixed);
    return () => text;
  });
  const values: string[] = new Array<string>(names.length);
  return (row) => {
    const record = row as unknown as Record<string, unknown>;
    for (let c = 0; c < names.length; c++) {
      const value = record[names[c] as string];
      values[c] = value === null || value === undefined ? 'NULL' : (encoders[c] as ValueEncoder)(value);
    }
    // join makes one flat string: the tuple waits for its statement, and a rope of
    // pieces kept that long makes every young-generation GC copy all of them.
    return `(${values.join(',')})`;
  };
}

export function insertPrefix(table: string, written: WrittenColumns = ALL_COLUMNS): string {
  const columns = written.columns.map((c) => quoteIdentifier(c.name)).join(',');
  return `INSERT IGNORE INTO ${quoteIdentifier(table)} (${columns}) VALUES `;
}

export interface InsertStatement {
  readonly sql: string;
  readonly rows: number;
}

/**
 * Groups `rows` into statements of at most `maxBytes` UTF-8 bytes each. A row
 * larger than that by itself gets a statement of its own, up to `packetBytes`
 * (what the server's max_allowed_packet admits); a row larger still is an
 * error naming it.
 */
export function* planInsertStatements(
  rows: readonly MetricEvent[],
  prefix: string,
  encodeTuple: (row: MetricEvent) => string,
  maxBytes: number,
  packetBytes: number,
): Generator<InsertStatement> {
  const prefixBytes = Buffer.byteLength(prefix);
  let tuples: string[] = [];
  let bytes = prefixBytes;
  for (const row of rows) {
    const tuple = encodeTuple(row);
    const tupleBytes = Buffer.byteLength(tuple) + 1;
    if (prefixBytes + tupleBytes > packetBytes) {
      throw new RefusedDataError(
        `row ${row.event_id} needs ${prefixBytes + tupleBytes} bytes as an INSERT statement, more than the ${packetBytes} the server's max_allowed_packet allows: ` +
          'raise max_allowed_packet, or enable local_infile so that LOAD DATA streams it',
      );
    }
    if (tuples.length > 0 && bytes + tupleBytes > maxBytes) {
      yield { sql: prefix + tuples.join(','), rows: tuples.length };
      tuples = [];
      bytes = prefixBytes;
    }
    tuples.push(tuple);
    bytes += tupleBytes;
  }
  if (tuples.length > 0) yield { sql: prefix + tuples.join(','), rows: tuples.length };
}
