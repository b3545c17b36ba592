/**
 * Writes one Parquet file so that a reader never sees half of it: the bytes
 * go to a temporary name in the WAL folder, are fsynced, and are renamed into
 * their partition, whose folder is then fsynced. Runs in the worker thread.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { ByteWriter, ParquetWriter, type ColumnSource } from 'hyparquet-writer';
import { COLUMNS, SCHEMA_VERSION } from '../../schema/columns.js';
import { fsyncFolderSync } from './durable-fs.js';
import { keepsStatistics, parquetSchema } from './parquet-schema.js';
import type { ColumnArrays } from './wal-format.js';

const FLUSH_BYTES = 1024 * 1024;

export interface ParquetFileJob {
  /** `<dataset>/date=D/part-....parquet` */
  readonly finalPath: string;
  /** A name in the WAL folder (same file system), starting with a dot. */
  readonly tempPath: string;
  /** One array per column of COLUMNS, all of the same length. */
  readonly columns: ColumnArrays;
}

export type FileOutcome = 'written' | 'already-there';

/** A hyparquet-writer Writer that streams to a file descriptor instead of growing one buffer. */
class FileDescriptorWriter extends ByteWriter {
  constructor(private readonly fd: number) {
    super(FLUSH_BYTES * 2);
  }

  override ensure(size: number): void {
    if (this.index > FLUSH_BYTES) this.flush();
    super.ensure(size);
  }

  flush(): void {
    const bytes = new Uint8Array(this.buffer, 0, this.index);
    for (let written = 0; written < bytes.length;) {
      written += writeSync(this.fd, bytes, written, bytes.length - written);
    }
    this.index = 0;
  }

  override finish(): void {
    this.flush();
  }
}

function encode(fd: number, columns: ColumnArrays): void {
  const schema = parquetSchema();
  // hyparquet-writer serialises the values of a JSON-annotated column itself; ours are
  // JSON text already, so the annotation goes on after the pages are written.
  const jsonElements = schema.filter((element) => element.converted_type === 'JSON');
  for (const element of jsonElements) delete element.converted_type;
  const writer = new ParquetWriter({
    writer: new FileDescriptorWriter(fd),
    schema,
    codec: 'SNAPPY',
    createdBy: 'llamonitor-otel',
    kvMetadata: [{ key: 'llamonitor.schema_version', value: SCHEMA_VERSION }],
  });
  const columnData: ColumnSource[] = COLUMNS.map((spec, index) => ({
    name: spec.name,
    data: columns[index] as ColumnSource['data'],
    // never for JSON: the writer would compute them before the JSON annotation is back on
    statistics: keepsStatistics(spec),
  }));
  void writer.write({ columnData });
  for (const element of jsonElements) element.converted_type = 'JSON';
  void writer.finish();
}

export function writeParquetFileAtomically(job: ParquetFileJob): FileOutcome {
  // A crash after the rename but before the segment was deleted: the file is complete.
  if (existsSync(job.finalPath)) return 'already-there';
  const folder = dirname(job.finalPath);
  const created = mkdirSync(folder, { recursive: true });
  if (created !== undefined) fsyncFolderSync(dirname(created));
  const fd = openSync(job.tempPath, 'w');
  try {
    encode(fd, job.columns);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    removeQuietly(job.tempPath);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(job.tempPath, job.finalPath);
  } catch (error) {
    removeQuietly(job.tempPath);
    throw error;
  }
  fsyncFolderSync(folder);
  return 'written';
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or the folder is unwritable: recovery removes it later
  }
}
