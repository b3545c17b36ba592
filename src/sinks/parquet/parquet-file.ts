/**
 * Writes Parquet files so that a reader never sees half of one: the bytes go
 * to a temporary name in the WAL folder, are fsynced, and are renamed into
 * their partition, whose folder is then fsynced. Runs in the worker thread.
 */
import {
  closeSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { ByteWriter, ParquetWriter, type ColumnSource, type SchemaElement } from 'hyparquet-writer';
import { COLUMNS, SCHEMA_VERSION } from '../../schema/columns.js';
import { fsyncFolderSync } from '../durable-fs.js';
import { faultPoint } from './fault-points.js';
import { fileModesOf, makeFoldersSync, type FileModes } from '../file-modes.js';
import { keepsStatistics, parquetSchema } from './parquet-schema.js';
import type { ColumnArrays } from './wal-format.js';

const FLUSH_BYTES = 1024 * 1024;
/** hyparquet-writer's own default: a small first row group (quick to peek at), then up to 100,000 rows. */
const DEFAULT_ROW_GROUPS = [1000, 100_000];

export interface ParquetFileJob {
  /** `<dataset>/date=D/part-....parquet` */
  readonly finalPath: string;
  /** A name in the WAL folder (same file system), starting with a dot. */
  readonly tempPath: string;
  /** One array per column of COLUMNS, all of the same length. */
  readonly columns: ColumnArrays;
  /** Of the file and of the partition folder if it is created; private by default. */
  readonly modes?: FileModes;
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

/**
 * One Parquet file written under its temporary name, a row group per append,
 * so that a segment's rows can be encoded while the segment still fills.
 */
export class TemporaryParquetFile {
  rows = 0;
  private readonly fd: number;
  private readonly writer: ParquetWriter;
  private readonly jsonElements: SchemaElement[];
  private open = true;

  constructor(
    readonly tempPath: string,
    fileMode: number,
  ) {
    const schema = parquetSchema();
    // hyparquet-writer serialises the values of a JSON-annotated column itself; ours are
    // JSON text already, so the annotation goes back on only for the footer.
    this.jsonElements = schema.filter((element) => element.converted_type === 'JSON');
    for (const element of this.jsonElements) delete element.converted_type;
    this.fd = openSync(tempPath, 'w', fileMode);
    try {
      fchmodSync(this.fd, fileMode); // the mode asked for, whatever the umask
      this.writer = new ParquetWriter({
        writer: new FileDescriptorWriter(this.fd),
        schema,
        codec: 'SNAPPY',
        createdBy: 'llamonitor-otel',
        kvMetadata: [{ key: 'llamonitor.schema_version', value: SCHEMA_VERSION }],
      });
    } catch (error) {
      this.discard();
      throw error;
    }
  }

  /** Writes `columns` (one array per column of COLUMNS) as row groups of at most `rowGroupRows`. */
  append(columns: ColumnArrays, rowGroupRows: number | number[] = DEFAULT_ROW_GROUPS): void {
    const rows = (columns[0] as unknown[]).length;
    if (rows === 0) return;
    const columnData: ColumnSource[] = COLUMNS.map((spec, index) => ({
      name: spec.name,
      data: columns[index] as ColumnSource['data'],
      // never for JSON: the writer would compute them before the JSON annotation is back on
      statistics: keepsStatistics(spec),
    }));
    void this.writer.write({ columnData, rowGroupSize: rowGroupRows });
    this.rows += rows;
  }

  /** Writes the footer and makes the file durable under its temporary name. */
  complete(): void {
    for (const element of this.jsonElements) element.converted_type = 'JSON';
    void this.writer.finish();
    fsyncSync(this.fd);
    this.close();
  }

  /** Closes and deletes the temporary file (after a failure, or when its rows went elsewhere). */
  discard(): void {
    this.close();
    removeQuietly(this.tempPath);
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }
}

/**
 * Renames a completed temporary file into its partition folder (made with
 * `folderMode` when missing), durably; a file already there wins.
 */
export function moveIntoPlace(tempPath: string, finalPath: string, folderMode: number): FileOutcome {
  if (existsSync(finalPath)) {
    removeQuietly(tempPath);
    return 'already-there';
  }
  const folder = dirname(finalPath);
  try {
    const created = makeFoldersSync(folder, folderMode);
    if (created !== undefined) fsyncFolderSync(dirname(created));
    faultPoint('parquet-before-rename');
    renameSync(tempPath, finalPath);
  } catch (error) {
    removeQuietly(tempPath);
    throw error;
  }
  fsyncFolderSync(folder);
  return 'written';
}

export function writeParquetFileAtomically(job: ParquetFileJob): FileOutcome {
  // A crash after the rename but before the segment was deleted: the file is complete.
  if (existsSync(job.finalPath)) return 'already-there';
  const modes = job.modes ?? fileModesOf('private');
  const file = new TemporaryParquetFile(job.tempPath, modes.file);
  try {
    file.append(job.columns);
    file.complete();
  } catch (error) {
    file.discard();
    throw error;
  }
  return moveIntoPlace(job.tempPath, job.finalPath, modes.folder);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or the folder is unwritable: recovery removes it later
  }
}
