/**
 * The conversion worker's entry point: it follows open segments as they grow,
 * encodes their acknowledged rows as Parquet row groups as they arrive, and
 * once a segment is closed, finishes its files. Everything costly (parsing,
 * encoding, compression, file writes) happens on this thread, so the
 * application's event loop never waits for it.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { adoptProcessToken } from '../process-owner.js';
import { SegmentConversion, type ConversionResult } from './segment-conversion.js';
import type { SegmentContents } from './segment-reader.js';
import { SegmentReader } from './segment-reader.js';
import type {
  ConvertMessage,
  FollowMessage,
  FromWorker,
  ToWorker,
  WorkerSettings,
} from './worker-protocol.js';

const settings = workerData as WorkerSettings;
adoptProcessToken(settings.processToken);

/** Nice steps the conversion thread takes below the application's: 10 leaves it about a tenth of a contended core. */
const BACKGROUND_NICENESS = 10;

const readers = new Map<string, SegmentReader>();
/** Segments whose follow failed: their conversion reads them again from the start, and reports why. */
const unfollowable = new Set<string>();

/** Conversions under way of segments still filling, their files under temporary names. */
const conversions = new Map<string, SegmentConversion>();

function follow(message: FollowMessage): void {
  if (unfollowable.has(message.segmentPath)) return;
  let reader = readers.get(message.segmentPath);
  if (!reader) readers.set(message.segmentPath, (reader = new SegmentReader(message.segmentPath)));
  try {
    reader.readTo(message.size);
    if (message.committed) encodeAhead(reader, message);
  } catch {
    // read or encode it all again, from the start, when the segment closes: that reports why
    reader.close();
    readers.delete(message.segmentPath);
    conversions.get(message.segmentPath)?.abandon();
    conversions.delete(message.segmentPath);
    unfollowable.add(message.segmentPath);
  }
}

function encodeAhead(reader: SegmentReader, message: FollowMessage): void {
  const rows = reader.rowsAt(message.size);
  if (rows === undefined) return;
  let conversion = conversions.get(message.segmentPath);
  if (!conversion) {
    const target = {
      dataset: message.dataset,
      segmentPath: message.segmentPath,
      owner: message.owner,
      modes: settings.modes,
    };
    conversion = new SegmentConversion(target, reader.fileRowsOfHeader);
    conversions.set(message.segmentPath, conversion);
  }
  conversion.encodeCommitted(reader.columnArrays, rows);
}

function forget(segmentPath: string): void {
  readers.get(segmentPath)?.close();
  readers.delete(segmentPath);
  conversions.get(segmentPath)?.abandon();
  conversions.delete(segmentPath);
  unfollowable.delete(segmentPath);
}

function convert(message: ConvertMessage): FromWorker {
  const reader = readers.get(message.segmentPath) ?? new SegmentReader(message.segmentPath);
  const ahead = conversions.get(message.segmentPath);
  readers.delete(message.segmentPath);
  conversions.delete(message.segmentPath);
  unfollowable.delete(message.segmentPath);
  try {
    const contents = reader.finish(message.size);
    return { type: 'converted', id: message.id, result: finishConversion(contents, message, ahead) };
  } catch (error) {
    const { message: text, code } = error as NodeJS.ErrnoException;
    return { type: 'failed', id: message.id, message: text, ...(code ? { code } : {}) };
  } finally {
    reader.close();
  }
}

/**
 * Finishes the conversion begun while the segment filled; if that fails,
 * reads the segment again (the rows encoded ahead are no longer held) and
 * converts it whole.
 */
function finishConversion(
  contents: SegmentContents,
  message: ConvertMessage,
  ahead: SegmentConversion | undefined,
): ConversionResult {
  const target = { ...message, modes: settings.modes };
  if (!ahead) return new SegmentConversion(target, contents.fileRows).finish(contents);
  try {
    return ahead.finish(contents);
  } catch {
    // its temporary files are gone; the whole conversion below reports a failure that persists
  }
  const reader = new SegmentReader(message.segmentPath);
  try {
    const again = reader.finish(message.size);
    return new SegmentConversion(target, again.fileRows).finish(again);
  } finally {
    reader.close();
  }
}

/**
 * On Linux the nice value belongs to a thread: this one steps back so that,
 * when cores are scarce, the application's thread runs first. With a free
 * core the conversion runs at full speed all the same.
 */
function yieldPriorityToTheApplication(): void {
  if (process.platform !== 'linux') return;
  try {
    const thread = Number(basename(readlinkSync('/proc/thread-self')));
    setPriority(thread, Math.min(19, getPriority(thread) + BACKGROUND_NICENESS));
  } catch {
    // no /proc, or a sandbox that forbids it: run at normal priority
  }
}

const port = parentPort;
if (!port) throw new Error('worker-thread.js runs as a worker thread of ParquetSink');
yieldPriorityToTheApplication();
port.on('message', (message: ToWorker) => {
  if (message.type === 'follow') follow(message);
  else if (message.type === 'forget') forget(message.segmentPath);
  else port.postMessage(convert(message));
});
