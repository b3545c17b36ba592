/**
 * The conversion worker's entry point: it follows open segments as they grow
 * and, once one is closed, encodes its rows as Parquet. Everything costly
 * (parsing, encoding, compression, file writes) happens on this thread, so
 * the application's event loop never waits for it.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { basename } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { convertSegment } from './segment-conversion.js';
import { SegmentReader } from './segment-reader.js';
import type { ConvertMessage, FollowMessage, FromWorker, ToWorker } from './worker-protocol.js';

/** Nice steps the conversion thread takes below the application's: 10 leaves it about a tenth of a contended core. */
const BACKGROUND_NICENESS = 10;

const readers = new Map<string, SegmentReader>();
/** Segments whose follow failed: their conversion reads them again from the start, and reports why. */
const unfollowable = new Set<string>();

function follow(message: FollowMessage): void {
  if (unfollowable.has(message.segmentPath)) return;
  let reader = readers.get(message.segmentPath);
  if (!reader) readers.set(message.segmentPath, (reader = new SegmentReader(message.segmentPath)));
  try {
    reader.readTo(message.size);
  } catch {
    reader.close();
    readers.delete(message.segmentPath);
    unfollowable.add(message.segmentPath);
  }
}

function forget(segmentPath: string): void {
  readers.get(segmentPath)?.close();
  readers.delete(segmentPath);
  unfollowable.delete(segmentPath);
}

function convert(message: ConvertMessage): FromWorker {
  const reader = readers.get(message.segmentPath) ?? new SegmentReader(message.segmentPath);
  readers.delete(message.segmentPath);
  unfollowable.delete(message.segmentPath);
  try {
    const contents = reader.finish(message.size);
    const result = convertSegment(contents, message);
    return { type: 'converted', id: message.id, result };
  } catch (error) {
    const { message: text, code } = error as NodeJS.ErrnoException;
    return { type: 'failed', id: message.id, message: text, ...(code ? { code } : {}) };
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
