/**
 * The Parquet references: the same rows written with the bare libraries, no
 * sink around them. Shared by bench/parquet.ts and bench/rows/parquet.ts.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ByteWriter, ParquetWriter, type ColumnSource } from 'hyparquet-writer';
import { COLUMNS, type ColumnKind, type MetricEvent } from '../../src/schema/columns.js';
import { isoMicrosToEpochMicros } from '../../src/schema/timestamps.js';
import { parquetSchema } from '../../src/sinks/parquet/parquet-schema.js';

/** What an application would write with hyparquet-writer alone: same schema, same compression (snappy). */
export function bareHyparquet(rows: readonly MetricEvent[], path: string): void {
  const columnData: ColumnSource[] = COLUMNS.map((spec) => ({
    name: spec.name,
    data: rows.map((row) => {
      const value = spec.name === 'created_at' ? row.timestamp : (row as Record<string, unknown>)[spec.name];
      if (value === null || value === undefined) return null;
      if (spec.kind === 'timestamp') return isoMicrosToEpochMicros(value as string);
      if (spec.kind === 'int64') return BigInt(value as number | bigint);
      return value;
    }),
  }));
  const writer = new ByteWriter();
  const parquet = new ParquetWriter({ writer, schema: parquetSchema(), codec: 'SNAPPY' });
  void parquet.write({ columnData });
  void parquet.finish();
  writeFileSync(path, writer.getBytes()); // no fsync, as the library's own parquetWriteFile
}

interface ParquetjsWriter {
  appendRow(row: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}
interface Parquetjs {
  ParquetSchema: new (
    fields: Record<string, { type: string; optional?: boolean; compression?: string }>,
  ) => unknown;
  ParquetWriter: { openFile(schema: unknown, path: string): Promise<ParquetjsWriter> };
}
const require = createRequire(import.meta.url);
const parquetjs = require('parquetjs-lite') as Parquetjs;

/** parquetjs-lite's type for each column kind, as close to the sink's as it has. */
const PARQUETJS_TYPES: Record<ColumnKind, string> = {
  uuid: 'UTF8',
  string: 'UTF8',
  text: 'UTF8',
  json: 'JSON',
  int32: 'INT32',
  int64: 'INT64',
  double: 'DOUBLE',
  timestamp: 'TIMESTAMP_MICROS',
};

/** The same rows with parquetjs-lite, row by row, snappy. */
export async function parquetjsLite(rows: readonly MetricEvent[], path: string): Promise<void> {
  const schema = new parquetjs.ParquetSchema(
    Object.fromEntries(
      COLUMNS.map((spec) => [
        spec.name,
        { type: PARQUETJS_TYPES[spec.kind], optional: spec.nullable, compression: 'SNAPPY' },
      ]),
    ),
  );
  const writer = await parquetjs.ParquetWriter.openFile(schema, path);
  for (const row of rows) {
    const record: Record<string, unknown> = { ...row, created_at: row.timestamp };
    for (const spec of COLUMNS) {
      const value = record[spec.name];
      if (value === null) delete record[spec.name];
      else if (spec.kind === 'timestamp') record[spec.name] = isoMicrosToEpochMicros(value as string);
      else if (spec.kind === 'int64') record[spec.name] = Number(value); // parquetjs-lite has no bigint path
    }
    await writer.appendRow(record);
  }
  await writer.close();
}
