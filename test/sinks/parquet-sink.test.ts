/**
 * The Parquet sink end to end, from the built package (its conversion runs in
 * a worker thread, which needs dist/*.js: `npm test` builds first). Every file
 * is opened by DuckDB or hyparquet, never by the code that wrote it.
 */
import {
  copyFileSync,
  cpSync,
  symlinkSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COLUMNS, type MetricEvent } from '../../src/schema/columns.js';
import { isoMicrosToEpochMicros } from '../../src/schema/timestamps.js';
import {
  FRAME_HEADER_BYTES,
  readFrameHeader,
  RecordKind,
  type FrameHeader,
} from '../../src/sinks/parquet/wal-frames.js';
import { isLeaseName } from '../../src/sinks/process-owner.js';
import { builtModulePath, importBuilt } from '../support/built-package.js';
import { captureDiag } from '../support/diag-capture.js';
import { runParquetChild, until } from '../support/parquet-child-runner.js';
import { queryDataset, readWithHyparquet, visibleParquetFiles } from '../support/parquet-readers.js';
import { leaveSegment, segmentOf, v1SegmentOf } from '../support/parquet-segments.js';
import { sampleRows } from '../support/sample-rows.js';

type ParquetModule = typeof import('../../src/sinks/parquet/index.js');
type ParquetSinkType = InstanceType<ParquetModule['ParquetSink']>;
const { ParquetSink } = await importBuilt<ParquetModule>('sinks/parquet/index.js');

const FIXTURE_V1 = new URL('./fixtures/parquet-segment-v1.wal', import.meta.url);
const folders: string[] = [];
const sinks: ParquetSinkType[] = [];

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-parquet-'));
  folders.push(folder);
  return folder;
}

function openSink(
  folder: string,
  options: {
    fileRows?: number;
    fileAgeMillis?: number;
    fileMode?: 'private' | 'group';
    warnings?: boolean;
  } = {},
): ParquetSinkType {
  const sink = new ParquetSink(folder, {
    table: 'metric_events',
    poolSize: 1,
    createTable: true,
    fileRows: options.fileRows ?? 100_000,
    fileAgeMillis: options.fileAgeMillis ?? 600_000,
    fileMode: options.fileMode,
    warnings: options.warnings,
  });
  sinks.push(sink);
  return sink;
}

afterEach(async () => {
  await Promise.allSettled(sinks.splice(0).map((sink) => sink.close()));
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

async function count(dataset: string, where = 'true'): Promise<number> {
  const [row] = await queryDataset(dataset, `SELECT count(*)::INTEGER AS n FROM {dataset} WHERE ${where}`);
  return (row as { n: number }).n;
}

async function distinctEvents(dataset: string): Promise<number> {
  const [row] = await queryDataset(dataset, 'SELECT count(DISTINCT event_id)::INTEGER AS n FROM {dataset}');
  return (row as { n: number }).n;
}

function segments(dataset: string): string[] {
  return readdirSync(join(dataset, '_wal')).filter((name) => name.endsWith('.wal'));
}

/** What is in the WAL folder, the leases of the processes writing it aside. */
function walEntries(dataset: string): string[] {
  return readdirSync(join(dataset, '_wal')).filter((name) => !isLeaseName(name));
}

const runChild = runParquetChild;

/** The built package loaded a second time, as when an application ends up with two copies of it. */
async function importSecondCopy(): Promise<ParquetModule> {
  const root = tempFolder();
  const dist = dirname(dirname(dirname(builtModulePath('sinks/parquet/index.js'))));
  cpSync(dist, join(root, 'dist'), { recursive: true });
  symlinkSync(join(dirname(dist), 'node_modules'), join(root, 'node_modules'));
  return (await import(
    pathToFileURL(join(root, 'dist', 'sinks', 'parquet', 'index.js')).href
  )) as ParquetModule;
}

/** Writes, as a process that has ended would have left it, a segment of `rows` rows cut into files of `fileRows`. */
function segmentOfAnEndedProcess(folder: string, rows: number, fileRows: number) {
  const segment = segmentOf([sampleRows(rows)], fileRows);
  return { ...leaveSegment(folder, segment), segment };
}

/**
 * The offset of batch `number`'s header in a segment (counted from 1), in
 * either format: the frame of version 2, the line of version 1.
 */
function batchHeaderAt(path: string, number: number): number {
  const bytes = readFileSync(path);
  if (bytes[0] === 0x7b) {
    let at = 0;
    for (let seen = 0; seen < number; seen++) at = bytes.indexOf('\n{"batch":', at + 1);
    return at + 1;
  }
  for (let at = 0; at < bytes.length;) {
    const frame = readFrameHeader(bytes, at) as FrameHeader;
    if (frame.kind === RecordKind.batch && frame.batch === number) return at;
    at += FRAME_HEADER_BYTES + frame.length;
  }
  throw new Error(`no batch ${number} in ${path}`);
}

/** The offset of the first row of batch `number`: its opening bracket. */
function firstRowAt(path: string, number: number): number {
  const bytes = readFileSync(path);
  const header = batchHeaderAt(path, number);
  if (bytes[0] === 0x7b) return bytes.indexOf('\n', header) + 1;
  const rowsRecord = header + FRAME_HEADER_BYTES + (readFrameHeader(bytes, header) as FrameHeader).length;
  return rowsRecord + FRAME_HEADER_BYTES;
}

function flipBit(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = (bytes[offset] as number) ^ 0x04;
  writeFileSync(path, bytes);
}

/** Runs `action` with the umask 000: modes the sink asks for are then not narrowed by it. */
async function withPermissiveUmask<T>(action: () => Promise<T>): Promise<T> {
  const previous = process.umask(0);
  try {
    return await action();
  } finally {
    process.umask(previous);
  }
}

/** A file's permission bits in octal, as `ls -l` users read them: `'600'`. */
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

const prlimitAvailable = process.platform === 'linux' && existsSync('/usr/bin/prlimit');

describe('ParquetSink: what DuckDB and hyparquet read back', () => {
  const HUGE = 2n ** 62n + 7n;
  const UNICODE = 'héllo 🦙 世界 مرحبا e\u0301 \u{1F468}\u200D\u{1F469}\u200D\u{1F467}';
  let folder: string;
  let dataset: string;
  let rows: MetricEvent[];
  let before: number;
  let after: number;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'llamonitor-parquet-roundtrip-'));
    // 300 rows across a UTC midnight, one with an int64 beyond 2^53, one with unicode everywhere
    rows = sampleRows(300, {
      startMicros: isoMicrosToEpochMicros('2026-03-01T23:59:50.000001Z'),
      stepMicros: 60_123n,
    });
    rows[7] = { ...rows[7], image_total_pixels: HUGE, image_file_size_bytes: -HUGE } as MetricEvent;
    rows[8] = {
      ...rows[8],
      session_id: UNICODE,
      error: UNICODE,
      custom_attributes: { text: UNICODE },
    } as MetricEvent;
    const sink = new ParquetSink(folder, {
      table: 'metric_events',
      poolSize: 1,
      createTable: true,
      fileRows: 100_000,
      fileAgeMillis: 600_000,
    });
    before = Date.now();
    await sink.write(rows);
    await sink.close();
    after = Date.now();
    dataset = sink.target;
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('reads every row exactly once', async () => {
    expect(await count(dataset)).toBe(rows.length);
    expect(await distinctEvents(dataset)).toBe(rows.length);
  });

  it('sees timestamps as TIMESTAMP WITH TIME ZONE and JSON columns as JSON', async () => {
    const described = await queryDataset(dataset, 'DESCRIBE SELECT * FROM {dataset}');
    const types = Object.fromEntries(
      described.map((row) => [row.column_name as string, row.column_type as string]),
    );
    expect(types.timestamp).toBe('TIMESTAMP WITH TIME ZONE');
    expect(types.created_at).toBe('TIMESTAMP WITH TIME ZONE');
    for (const spec of COLUMNS.filter((c) => c.kind === 'json'))
      expect(types[spec.name], spec.name).toBe('JSON');
    expect(types.image_total_pixels).toBe('BIGINT');
    expect(types.text_char_count).toBe('INTEGER');
    expect(types.duration_ms).toBe('DOUBLE');
  });

  it('keeps the microseconds of every timestamp', async () => {
    const stored = await queryDataset(
      dataset,
      'SELECT event_id, epoch_us(timestamp) AS micros FROM {dataset}',
    );
    const byId = new Map(stored.map((row) => [row.event_id as string, row.micros as bigint]));
    for (const row of rows) expect(byId.get(row.event_id)).toBe(isoMicrosToEpochMicros(row.timestamp));
  });

  it('keeps integers beyond 2^53 exact, positive and negative', async () => {
    const [row] = await queryDataset(
      dataset,
      `SELECT image_total_pixels::VARCHAR AS pixels, image_file_size_bytes::VARCHAR AS bytes FROM {dataset} WHERE event_id = '${rows[7]?.event_id}'`,
    );
    expect(row).toEqual({ pixels: HUGE.toString(), bytes: (-HUGE).toString() });
  });

  it('keeps unicode text intact in string and JSON columns', async () => {
    const [row] = await queryDataset(
      dataset,
      `SELECT session_id, error, custom_attributes->>'text' AS text FROM {dataset} WHERE event_id = '${rows[8]?.event_id}'`,
    );
    expect(row).toEqual({ session_id: UNICODE, error: UNICODE, text: UNICODE });
  });

  it('puts each row in the Hive partition of its UTC date', async () => {
    const partitions = await queryDataset(
      dataset,
      "SELECT DISTINCT date::VARCHAR AS date, strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m-%d') AS day FROM {dataset} ORDER BY 1",
    );
    expect(partitions.map((row) => row.date)).toEqual(['2026-03-01', '2026-03-02']);
    for (const row of partitions) expect(row.date).toBe(row.day);
  });

  it('fills created_at with the time the rows were written', async () => {
    const [row] = await queryDataset(
      dataset,
      'SELECT min(epoch_ms(created_at)) AS first, max(epoch_ms(created_at)) AS last, count(created_at)::INTEGER AS n FROM {dataset}',
    );
    expect(Number(row?.first)).toBeGreaterThanOrEqual(before);
    expect(Number(row?.last)).toBeLessThanOrEqual(after);
    expect(row?.n).toBe(rows.length);
  });

  it('gives hyparquet, a second reader, the same values as were written', async () => {
    const stored = new Map((await readWithHyparquet(dataset)).map((row) => [row.event_id as string, row]));
    expect(stored.size).toBe(rows.length);
    for (const row of rows) {
      const read = stored.get(row.event_id) as Record<string, unknown>;
      for (const spec of COLUMNS) {
        if (spec.name === 'created_at') continue;
        const written = (row as Record<string, unknown>)[spec.name];
        const value = read[spec.name];
        if (written === null) expect(value ?? null, spec.name).toBeNull();
        else if (spec.kind === 'timestamp')
          expect((value as Date).getTime(), spec.name).toBe(Date.parse(written as string));
        else if (spec.kind === 'int64') expect(value, spec.name).toBe(BigInt(written as number | bigint));
        else if (spec.kind === 'json')
          expect(typeof value === 'string' ? JSON.parse(value) : value, spec.name).toEqual(written);
        else expect(value, spec.name).toEqual(written);
      }
    }
  });
});

describe('ParquetSink: files', () => {
  it('keeps rows out of sight until flush, then shows them', async () => {
    const sink = openSink(tempFolder());
    await sink.write(sampleRows(50));
    expect(visibleParquetFiles(sink.target)).toEqual([]);
    await sink.flush();
    expect(await count(sink.target)).toBe(50);
  });

  it('gathers many small writes into one file instead of one file per write', async () => {
    const sink = openSink(tempFolder());
    for (let batch = 0; batch < 100; batch++) await sink.write(sampleRows(20, { seed: `batch-${batch}` }));
    await sink.flush();
    expect(visibleParquetFiles(sink.target)).toHaveLength(1);
    expect(await count(sink.target)).toBe(2000);
  });

  it('closes a file at fileRows rows', async () => {
    const sink = openSink(tempFolder(), { fileRows: 1000 });
    for (let batch = 0; batch < 10; batch++) await sink.write(sampleRows(250, { seed: `batch-${batch}` }));
    await sink.flush();
    const files = await queryDataset(
      sink.target,
      'SELECT count(*)::INTEGER AS n FROM {dataset} GROUP BY filename ORDER BY n DESC',
    );
    const perFile = files.map((row) => row.n);
    expect(perFile).toEqual([1000, 1000, 500]);
  });

  it('splits one batch larger than fileRows into files of at most fileRows rows', async () => {
    const sink = openSink(tempFolder(), { fileRows: 400 });
    await sink.write(sampleRows(1000));
    await sink.flush();
    expect(visibleParquetFiles(sink.target)).toHaveLength(3);
    expect(await count(sink.target)).toBe(1000);
  });

  it('closes a file once it is fileAgeMillis old, without a flush', async () => {
    const sink = openSink(tempFolder(), { fileAgeMillis: 200 });
    await sink.write(sampleRows(30));
    await until('a file becoming visible', () => visibleParquetFiles(sink.target).length === 1, 10_000);
    expect(await count(sink.target)).toBe(30);
  });

  it('gives writes that arrive together one fdatasync, and each its rows', async () => {
    const folder = tempFolder();
    const sink = openSink(folder);
    await sink.write(sampleRows(10, { seed: 'first' })); // opens the segment
    const probe = await open(join(folder, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const datasync = prototype.datasync;
    let syncs = 0;
    prototype.datasync = function (this: unknown) {
      syncs += 1;
      return datasync.call(this);
    };
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => sink.write(sampleRows(50, { seed: `together-${i}` }))),
      );
    } finally {
      prototype.datasync = datasync;
    }
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThan(20);
    await sink.flush();
    expect(await count(sink.target)).toBe(1010);
    expect(await distinctEvents(sink.target)).toBe(1010);
  });

  it('stores a batch written twice (a retry) once', async () => {
    const sink = openSink(tempFolder());
    const rows = sampleRows(40);
    await sink.write(rows);
    await sink.write(rows);
    await sink.flush();
    expect(await count(sink.target)).toBe(40);
  });

  it('leaves no segment behind once closed', async () => {
    const sink = openSink(tempFolder());
    await sink.write(sampleRows(10));
    await sink.close();
    expect(readdirSync(join(sink.target, '_wal'))).toEqual([]);
  });
});

/** Temporary Parquet files in the WAL folder: files the worker has begun and not yet renamed. */
function temporaryFiles(dataset: string): string[] {
  return readdirSync(join(dataset, '_wal')).filter((name) => name.startsWith('.') && name.endsWith('.tmp'));
}

async function rowGroupsPerFile(dataset: string): Promise<number[]> {
  const files = visibleParquetFiles(dataset).map((file) => `'${join(dataset, file)}'`);
  const rows = await queryDataset(
    dataset,
    `SELECT file_name, count(DISTINCT row_group_id)::INTEGER AS n FROM parquet_metadata([${files.join(', ')}]) GROUP BY file_name ORDER BY file_name`,
  );
  return rows.map((row) => row.n as number);
}

describe('ParquetSink: encoding while the segment fills', () => {
  it('encodes acknowledged rows as row groups before the flush, and the flush shows each row once', async () => {
    const sink = openSink(tempFolder());
    const written: MetricEvent[] = [];
    for (let batch = 0; batch < 24; batch++) {
      const rows = sampleRows(1000, { seed: `batch-${batch}` });
      written.push(...rows);
      await sink.write(rows);
    }
    await until('a temporary Parquet file appearing', () => temporaryFiles(sink.target).length > 0, 10_000);
    expect(visibleParquetFiles(sink.target)).toEqual([]);
    await sink.flush();
    expect(temporaryFiles(sink.target)).toEqual([]);
    expect(visibleParquetFiles(sink.target)).toHaveLength(1);
    expect((await rowGroupsPerFile(sink.target))[0]).toBeGreaterThan(1);
    const [stored] = await queryDataset(
      sink.target,
      'SELECT count(*)::INTEGER AS n, count(DISTINCT event_id)::INTEGER AS events, sum(text_char_count)::BIGINT AS chars FROM {dataset}',
    );
    const chars = written.reduce((sum, row) => sum + BigInt(row.text_char_count ?? 0), 0n);
    expect(stored).toEqual({ n: 24_000, events: 24_000, chars });
  });

  it('stores once a batch retried after its first copy was already encoded', async () => {
    const sink = openSink(tempFolder());
    const first = sampleRows(1000, { seed: 'retried' });
    await sink.write(first);
    for (let batch = 0; batch < 9; batch++) await sink.write(sampleRows(1000, { seed: `batch-${batch}` }));
    await until('a temporary Parquet file appearing', () => temporaryFiles(sink.target).length > 0, 10_000);
    await sink.write(first);
    await sink.flush();
    expect(await count(sink.target)).toBe(10_000);
    expect(await distinctEvents(sink.target)).toBe(10_000);
  });

  it('converts the segment again whole when the files begun ahead are lost before it closes', async () => {
    const sink = openSink(tempFolder());
    for (let batch = 0; batch < 12; batch++) await sink.write(sampleRows(1000, { seed: `batch-${batch}` }));
    await until('a temporary Parquet file appearing', () => temporaryFiles(sink.target).length > 0, 10_000);
    for (const name of temporaryFiles(sink.target)) rmSync(join(sink.target, '_wal', name));
    await sink.flush();
    expect(await count(sink.target)).toBe(12_000);
    expect(await distinctEvents(sink.target)).toBe(12_000);
    expect(walEntries(sink.target)).toEqual([]);
  });

  it('cuts one large batch into files of at most fileRows rows, one UTC date per file', async () => {
    const sink = openSink(tempFolder(), { fileRows: 5000 });
    // 12,000 rows a second apart from 23:00 UTC: 3,600 on the first date, 8,400 on the next
    const rows = sampleRows(12_000, { startMicros: 1_772_406_000_000_000n, stepMicros: 1_000_000n });
    await sink.write(rows);
    await sink.flush();
    const files = await queryDataset(
      sink.target,
      'SELECT date::VARCHAR AS date, count(*)::INTEGER AS n, count(DISTINCT CAST(timestamp AS DATE))::INTEGER AS days FROM {dataset} GROUP BY filename, date ORDER BY date, n DESC',
    );
    expect(files).toEqual([
      { date: '2026-03-01', n: 3600, days: 1 },
      { date: '2026-03-02', n: 5000, days: 1 },
      { date: '2026-03-02', n: 3400, days: 1 },
    ]);
    expect(temporaryFiles(sink.target)).toEqual([]);
  });
});

describe('ParquetSink: durability', () => {
  it('loses no row of a write that resolved before the process was killed', async () => {
    const folder = tempFolder();
    const run = runChild(['write-then-crash', folder, '3000']);
    const { signal, stdout } = await run.exited;
    expect(stdout).toContain('written');
    expect(signal).toBe('SIGKILL');
    const sink = openSink(folder);
    expect(visibleParquetFiles(sink.target)).toEqual([]);
    await sink.prepare();
    expect(await count(sink.target)).toBe(3000);
    expect(segments(sink.target)).toEqual([]);
  });

  it('loses no row, and leaves no temporary file, when killed while encoding ahead', async () => {
    const folder = tempFolder();
    const { signal, stdout } = await runChild(['encode-then-crash', folder, '20000']).exited;
    expect(stdout).toContain('encoding');
    expect(signal).toBe('SIGKILL');
    const sink = openSink(folder);
    expect(temporaryFiles(sink.target).length).toBeGreaterThan(0);
    await sink.prepare();
    expect(temporaryFiles(sink.target)).toEqual([]);
    expect(await count(sink.target)).toBe(20_000);
    expect(await distinctEvents(sink.target)).toBe(20_000);
    expect(segments(sink.target)).toEqual([]);
  });

  it('lets a process end without close(), and the next start shows its rows', async () => {
    const folder = tempFolder();
    const run = runChild(['write-then-exit', folder, '500']);
    const { code, stdout, stderr } = await run.exited;
    expect({ code, stdout: stdout.trim() }, stderr).toEqual({ code: 0, stdout: 'written' });
    const sink = openSink(folder);
    await sink.prepare();
    expect(await count(sink.target)).toBe(500);
  });

  it('writes no row twice when a crash came between a file rename and the segment deletion', async () => {
    const folder = tempFolder();
    await runChild(['write-then-crash', folder, '800']).exited;
    const dataset = join(folder, 'metric_events');
    const [segment] = segments(dataset);
    copyFileSync(join(dataset, '_wal', segment as string), join(folder, 'segment.copy'));
    await openSink(folder).prepare();
    const files = visibleParquetFiles(dataset);
    const modified = files.map((file) => statSync(join(dataset, file)).mtimeMs);
    renameSync(join(folder, 'segment.copy'), join(dataset, '_wal', segment as string)); // as if never deleted
    await openSink(folder).prepare();
    expect(visibleParquetFiles(dataset)).toEqual(files);
    expect(files.map((file) => statSync(join(dataset, file)).mtimeMs)).toEqual(modified);
    expect(await count(dataset)).toBe(800);
    expect(segments(dataset)).toEqual([]);
  });

  it('cuts files by the rows per file a segment was written with, not by the setting at recovery', async () => {
    const folder = tempFolder();
    segmentOfAnEndedProcess(folder, 1000, 300);
    const sink = openSink(folder, { fileRows: 100_000 });
    await sink.prepare();
    const files = await queryDataset(
      sink.target,
      'SELECT count(*)::INTEGER AS n FROM {dataset} GROUP BY filename ORDER BY n DESC',
    );
    expect(files.map((file) => file.n)).toEqual([300, 300, 300, 100]);
  });

  it("recovers the first and third of three confirmed batches when a byte of the second one's header changed", async () => {
    const folder = tempFolder();
    const { signal, stdout } = await runChild(['write-batches-then-crash', folder, '3', '100']).exited;
    expect({ signal, stdout: stdout.trim() }).toEqual({ signal: 'SIGKILL', stdout: 'written' });
    const dataset = join(folder, 'metric_events');
    const [segment] = segments(dataset);
    const path = join(dataset, '_wal', segment as string);
    flipBit(path, batchHeaderAt(path, 2) + 12);
    const logs = captureDiag();
    try {
      await openSink(folder, { warnings: false }).prepare();
    } finally {
      logs.stop();
    }
    expect(await count(dataset)).toBe(200);
    const second = sampleRows(100, { seed: 'batch-1' }).map((row) => `'${row.event_id}'`);
    expect(await count(dataset, `event_id IN (${second.join(',')})`)).toBe(0);
    expect(segments(dataset)).toEqual([]);
    const quarantined = readdirSync(join(dataset, '_wal', 'quarantine'));
    expect(quarantined).toHaveLength(1);
    const warning = logs.logs.filter((log) => log.level === 'warn').map((log) => log.message);
    expect(warning.join('\n')).toMatch(
      new RegExp(
        `100 rows of .* are lost; its other 200 rows are stored\\. The segment was moved to ${join(dataset, '_wal', 'quarantine', quarantined[0] as string)}`,
      ),
    );
  });

  it('drops only the batch of one damaged row, and keeps the segment in quarantine', async () => {
    const folder = tempFolder();
    await runChild(['write-batches-then-crash', folder, '3', '100']).exited;
    const dataset = join(folder, 'metric_events');
    const path = join(dataset, '_wal', segments(dataset)[0] as string);
    flipBit(path, firstRowAt(path, 2));
    await openSink(folder, { warnings: false }).prepare();
    expect(await count(dataset)).toBe(200);
    expect(readdirSync(join(dataset, '_wal', 'quarantine'))).toHaveLength(1);
  });

  it('recovers the segment that the release before frames left (format version 1, a kept fixture)', async () => {
    const folder = tempFolder();
    leaveSegment(folder, readFileSync(FIXTURE_V1));
    const sink = openSink(folder);
    await sink.prepare();
    expect(await count(sink.target)).toBe(12);
    expect(await count(sink.target, "event_id = '5eb7e92a-e8ba-5fc3-a26c-8c54586b74b4'")).toBe(1);
    expect(walEntries(sink.target)).toEqual([]);
  });

  it('recovers a large version 1 segment, cut into files by the rows per file it was written with', async () => {
    const folder = tempFolder();
    leaveSegment(folder, v1SegmentOf([sampleRows(600), sampleRows(400, 600)], 300));
    const sink = openSink(folder);
    await sink.prepare();
    const files = await queryDataset(
      sink.target,
      'SELECT count(*)::INTEGER AS n FROM {dataset} GROUP BY filename ORDER BY n DESC',
    );
    expect(files.map((file) => file.n)).toEqual([300, 300, 300, 100]);
    expect(await distinctEvents(sink.target)).toBe(1000);
  });

  it('after a crash between two renames, writes only the files not yet in place', async () => {
    const folder = tempFolder();
    const { wal, name, segment } = segmentOfAnEndedProcess(folder, 1000, 300);
    await openSink(folder).prepare();
    const dataset = join(folder, 'metric_events');
    const [kept, ...lost] = visibleParquetFiles(dataset);
    expect(lost).toHaveLength(3);
    const keptModified = statSync(join(dataset, kept as string)).mtimeMs;
    // As if the process had died after renaming the first file: the others and the segment still to do.
    for (const file of lost) rmSync(join(dataset, file));
    writeFileSync(join(wal, name), segment);
    await openSink(folder).prepare();
    expect(visibleParquetFiles(dataset)).toEqual([kept, ...lost].sort());
    expect(statSync(join(dataset, kept as string)).mtimeMs).toBe(keptModified);
    expect(await count(dataset)).toBe(1000);
    expect(await distinctEvents(dataset)).toBe(1000);
    expect(walEntries(dataset)).toEqual([]);
  });

  it("leaves the segment of a live process alone, and that process's close() shows its rows", async () => {
    const folder = tempFolder();
    const run = runChild(['write-then-wait', folder, '600'], { stdin: 'pipe' });
    await run.printed('written', 30_000);
    const sink = openSink(folder);
    await sink.prepare();
    expect(segments(sink.target)).toHaveLength(1);
    expect(visibleParquetFiles(sink.target)).toEqual([]);
    run.child.stdin?.end();
    expect((await run.exited).code).toBe(0);
    expect(await count(sink.target)).toBe(600);
  });

  it.runIf(prlimitAvailable)(
    'stores none of the rows of a write that failed part way (file size limit)',
    async () => {
      const folder = tempFolder();
      // the 5,000-row batch outgrows a 1 MB file limit half way; the batches around it fit
      const run = runChild(['write-three', folder, '5000', 'limited'], { fileSizeLimit: 1_000_000 });
      const { stdout, stderr } = await run.exited;
      expect(JSON.parse(stdout), stderr).toEqual(['ok', 'EFBIG', 'ok']);
      const dataset = join(folder, 'metric_events');
      const written = [
        ...sampleRows(500, { seed: 'limited-first' }),
        ...sampleRows(500, { seed: 'limited-last' }),
      ];
      expect(await count(dataset)).toBe(1000);
      expect(await distinctEvents(dataset)).toBe(1000);
      const ids = written.map((row) => `'${row.event_id}'`).join(',');
      expect(await count(dataset, `event_id IN (${ids})`)).toBe(1000);
    },
  );

  it.runIf(prlimitAvailable)(
    'fails every write that shared an append that failed, and stores none of their rows, even after recovery',
    async () => {
      const folder = tempFolder();
      // three writes at once share one append; together they outgrow a 1 MB file limit
      const run = runChild(['write-together', folder, '5000', 'together'], { fileSizeLimit: 1_000_000 });
      const { stdout, stderr } = await run.exited;
      expect(JSON.parse(stdout), stderr).toEqual(['EFBIG', 'EFBIG', 'EFBIG']);
      const sink = openSink(folder);
      await sink.prepare();
      await sink.write(sampleRows(20, { seed: 'after' }));
      await sink.flush();
      expect(await count(sink.target)).toBe(20);
      expect(segments(sink.target)).toEqual([]);
    },
  );

  it.runIf(prlimitAvailable)(
    'shows no file when writing Parquet fails half way, and converts the rows completely later',
    async () => {
      const folder = tempFolder();
      await runChild(['write-then-crash', folder, '20000']).exited;
      const dataset = join(folder, 'metric_events');
      const limited = await runChild(['recover', folder], { fileSizeLimit: 500_000 }).exited;
      expect(JSON.parse(limited.stdout), limited.stderr).toEqual({ flushError: 'EFBIG' });
      expect(visibleParquetFiles(dataset)).toEqual([]);
      expect(segments(dataset)).toHaveLength(1);
      await openSink(folder).prepare();
      expect(await count(dataset)).toBe(20_000);
      expect(await distinctEvents(dataset)).toBe(20_000);
      expect(walEntries(dataset)).toEqual([]);
    },
  );
});

describe('ParquetSink: a dataset folder moved or deleted while in use', () => {
  it('makes the folder again when it was moved away between two writes, and stores the second write', async () => {
    const folder = tempFolder();
    const sink = openSink(folder, { warnings: false });
    await sink.write(sampleRows(50, { seed: 'before' }));
    renameSync(sink.target, join(folder, 'moved-away'));
    const after = sampleRows(50, { seed: 'after' });
    await sink.write(after);
    await sink.flush();
    const ids = after.map((row) => `'${row.event_id}'`).join(',');
    expect(await count(sink.target)).toBe(50);
    expect(await count(sink.target, `event_id IN (${ids})`)).toBe(50);
    expect(walEntries(sink.target)).toEqual([]);
  });

  it('makes the folder again when it was deleted after its rows became visible, and stores the next write', async () => {
    const sink = openSink(tempFolder(), { warnings: false });
    await sink.write(sampleRows(50, { seed: 'before' }));
    await sink.flush();
    rmSync(sink.target, { recursive: true });
    await sink.write(sampleRows(40, { seed: 'after' }));
    await sink.flush();
    expect(await count(sink.target)).toBe(40);
    await expect(sink.checkHealth()).resolves.toBeUndefined();
  });

  it('reports itself healthy again once the deleted folder is made again', async () => {
    const sink = openSink(tempFolder(), { warnings: false });
    await sink.prepare();
    rmSync(sink.target, { recursive: true });
    await expect(sink.checkHealth()).resolves.toBeUndefined();
    expect(existsSync(join(sink.target, '_wal'))).toBe(true);
  });
});

describe('ParquetSink: file modes', () => {
  /** Writes, flushes and returns the mode of every folder and file the sink made, by kind. */
  async function modesAfterWriting(fileMode?: 'private' | 'group') {
    const parent = tempFolder();
    const folder = join(parent, 'made-by-the-sink');
    return withPermissiveUmask(async () => {
      const sink = openSink(folder, fileMode ? { fileMode } : {});
      await sink.write(sampleRows(20));
      const wal = join(sink.target, '_wal');
      const segment = modeOf(join(wal, segments(sink.target)[0] as string));
      const lease = readdirSync(wal).find(isLeaseName);
      await sink.flush();
      const [file] = visibleParquetFiles(sink.target);
      return {
        folders: [folder, sink.target, wal, dirname(join(sink.target, file as string))].map(modeOf),
        files: [segment, modeOf(join(sink.target, file as string)), lease && modeOf(join(wal, lease))],
        existing: modeOf(parent),
      };
    });
  }

  it('makes its folders 0700 and its files 0600 by default, whatever the umask', async () => {
    const modes = await modesAfterWriting();
    expect(modes.folders).toEqual(['700', '700', '700', '700']);
    expect(modes.files).toEqual(['600', '600', '600']);
  });

  it("makes them 0750 and 0640 with fileMode 'group', for a group that reads the Parquet files", async () => {
    const modes = await modesAfterWriting('group');
    expect(modes.folders).toEqual(['750', '750', '750', '750']);
    expect(modes.files).toEqual(['640', '640', '640']);
  });

  it('leaves the mode of a folder it did not create as it was', async () => {
    const modes = await modesAfterWriting();
    expect(modes.existing).toBe('700'); // mkdtemp's own
  });
});

describe('ParquetSink: lifecycle', () => {
  it('names the path when the dataset folder cannot be created', async () => {
    const folder = tempFolder();
    writeFileSync(join(folder, 'a-file'), '');
    const sink = openSink(join(folder, 'a-file', 'data'));
    await expect(sink.prepare()).rejects.toThrow(join(folder, 'a-file', 'data', 'metric_events'));
    await expect(sink.checkHealth()).rejects.toThrow(/a-file/);
  });

  it('reports a writable dataset folder as healthy', async () => {
    await expect(openSink(tempFolder()).checkHealth()).resolves.toBeUndefined();
  });

  it('leaves the open segment of another copy of the package in this process alone', async () => {
    const folder = tempFolder();
    const first = openSink(folder);
    await first.write(sampleRows(20));
    const copy = await importSecondCopy();
    const second = new copy.ParquetSink(folder, {
      table: 'metric_events',
      poolSize: 1,
      createTable: true,
      fileRows: 100_000,
      fileAgeMillis: 600_000,
    });
    sinks.push(second);
    await second.prepare();
    expect(segments(first.target)).toHaveLength(1);
    await first.write(sampleRows(20, { seed: 'more' }));
    await first.flush();
    expect(await count(first.target)).toBe(40);
  });

  it('refuses writes after close', async () => {
    const sink = openSink(tempFolder());
    await sink.close();
    await expect(sink.write(sampleRows(1))).rejects.toThrow(/closed/);
  });

  it('refuses a table name that is not an identifier', () => {
    expect(
      () =>
        new ParquetSink(tempFolder(), {
          table: '../x',
          poolSize: 1,
          createTable: true,
          fileRows: 1,
          fileAgeMillis: 1,
        }),
    ).toThrow(/table/);
  });

  it.runIf(process.platform === 'linux')(
    'runs its conversion thread at a lower priority than the application thread',
    async () => {
      const niceValues = () =>
        readdirSync('/proc/self/task').map((task) => {
          const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); // field 19: nice
        });
      const sink = openSink(tempFolder());
      await sink.write(sampleRows(10)); // starts the worker
      const application = os.getPriority(); // this thread's nice value
      await until(
        'a thread at a nice value 10 steps lower',
        () => niceValues().includes(Math.min(19, application + 10)),
        10_000,
      );
      expect(os.getPriority()).toBe(application);
    },
  );

  it('gives the event loop back between slices while one call writes 100,000 rows', async () => {
    const sink = openSink(tempFolder());
    const rows = sampleRows(100_000);
    // Each turn of the event loop during the write notes the segment's size. Serialised in one go,
    // the write would let the loop run only before and after its one big append: two or three sizes.
    // In slices of a few milliseconds, each handed to the file system before the next is built, the
    // loop runs between every two slices and sees the segment grow slice by slice.
    const sizes = new Set<number>();
    let segment: string | undefined;
    let writing = true;
    const wal = join(sink.target, '_wal');
    const tick = () => {
      if (!writing) return;
      segment ??= existsSync(wal) ? readdirSync(wal).find((name) => name.endsWith('.wal')) : undefined;
      if (segment) sizes.add(statSync(join(wal, segment)).size);
      setImmediate(tick);
    };
    setImmediate(tick);
    await sink.write(rows);
    writing = false;
    // 100,000 rows serialise in well over 20 slices of 4 ms on any machine (that would be 1.25 M rows/s).
    expect(sizes.size).toBeGreaterThan(20);
  });
});
