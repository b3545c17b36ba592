/**
 * Where everything lives inside a Parquet dataset folder, and how names are
 * built and read back. Pure: no I/O.
 *
 *   <dataset>/date=2026-01-02/part-20260102T030405123Z-<uuid>.parquet   what readers see
 *   <dataset>/_wal/20260102T030405123Z-<uuid>~<host>~<pid>~<token>.wal  write-ahead log segments
 *   <dataset>/_wal/.<part name>~<host>~<pid>~<token>.tmp                a Parquet file being written
 *   <dataset>/_wal/.owner-<host>~<pid>                                   a writing process's lease (process-owner.ts)
 *   <dataset>/_wal/quarantine/<segment name>                             a damaged segment, after its intact rows were stored
 *
 * Readers skip `_wal` (Spark and Trino ignore names starting with `_` or `.`;
 * DuckDB's `**\/*.parquet` glob matches no file there). A Parquet file's name is
 * derived from its segment alone, so converting a segment twice (a crash
 * between the rename and the segment's deletion) writes the same names again.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { ProcessOwner } from '../process-owner.js';

export const WAL_FOLDER = '_wal';
export const QUARANTINE_FOLDER = 'quarantine';
const SEGMENT_SUFFIX = '.wal';
const TEMP_SUFFIX = '.tmp';

/** The process that writes a segment: recovery converts only segments whose process is gone. */
export type Owner = ProcessOwner;

export interface SegmentName {
  /** Creation time, `20260102T030405123Z`: names sort by age. */
  readonly time: string;
  readonly uuid: string;
  readonly owner: Owner;
}

const SEGMENT_PATTERN =
  /^(\d{8}T\d{9}Z)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})~([A-Za-z0-9-]+)~(\d+)~([0-9a-f]+)\.wal$/;
const TEMP_PATTERN = /^\..*~([A-Za-z0-9-]+)~(\d+)~([0-9a-f]+)\.tmp$/;

/** `20260102T030405123Z` for a time in milliseconds. */
export function compactTime(millis: number): string {
  return new Date(millis).toISOString().replace(/[-:.]/g, '');
}

function ownerSuffix(owner: Owner): string {
  return `~${owner.host}~${owner.pid}~${owner.token}`;
}

export function segmentFileName(segment: SegmentName): string {
  return `${segment.time}-${segment.uuid}${ownerSuffix(segment.owner)}${SEGMENT_SUFFIX}`;
}

/** The segment a file name describes, or undefined for any other file. */
export function parseSegmentFileName(name: string): SegmentName | undefined {
  const match = SEGMENT_PATTERN.exec(name);
  if (!match) return undefined;
  const [, time, uuid, host, pid, token] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { time, uuid, owner: { host, pid: Number(pid), token } };
}

/** The owner of a temporary Parquet file, or undefined when the name is not one. */
export function parseTempFileOwner(name: string): Owner | undefined {
  const match = TEMP_PATTERN.exec(name);
  if (!match) return undefined;
  const [, host, pid, token] = match as unknown as [string, string, string, string];
  return { host, pid: Number(pid), token };
}

/** `date=2026-01-02`, the Hive partition folder of a UTC day. */
export function partitionFolder(date: string): string {
  return `date=${date}`;
}

/**
 * The name of the `index`-th Parquet file made from a segment for one date:
 * the same segment always yields the same names.
 */
export function partFileName(
  segment: Pick<SegmentName, 'time' | 'uuid'>,
  date: string,
  index: number,
): string {
  return `part-${segment.time}-${nameBasedUuid(`${segment.uuid}/${date}/${index}`)}.parquet`;
}

/** The temporary name of a Parquet file while `owner` writes it (inside the WAL folder). */
export function tempFileName(partFile: string, date: string, owner: Owner): string {
  return `.${date}-${partFile.replace(/\.parquet$/, '')}${ownerSuffix(owner)}${TEMP_SUFFIX}`;
}

/** The file checkHealth() writes and deletes; named like a temporary file, so recovery removes a leftover. */
export function probeFileName(owner: Owner): string {
  return `.health${ownerSuffix(owner)}${TEMP_SUFFIX}`;
}

/** A UUID (version 5 layout, SHA-1) derived from `name`. */
function nameBasedUuid(name: string): string {
  const hash = createHash('sha1').update(name).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A dataset's folder: the table's name inside the sink's folder, made absolute. */
export function datasetFolder(directory: string, table: string): string {
  return join(resolve(directory), table);
}

export function walFolder(dataset: string): string {
  return join(dataset, WAL_FOLDER);
}

export function quarantineFolder(wal: string): string {
  return join(wal, QUARANTINE_FOLDER);
}
