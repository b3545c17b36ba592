/**
 * Streams rows into a `COPY ... FROM STDIN` in PostgreSQL's text format. Rows
 * are encoded in chunks of about 128 KB, and the next chunk is encoded while
 * the previous one is on its way, so the server is kept busy and the event
 * loop is held for one chunk at a time, never for a whole batch.
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { MetricEvent } from '../../schema/columns.js';

/** Encodes rows[start, end) as COPY text lines (sinks/delimited-text.ts). */
export type RowEncoder = (rows: readonly MetricEvent[], start: number, end: number) => string;

/** Characters per chunk: with four writes at once, about 40 ms of event-loop delay at worst (bench/postgres.ts). */
const CHUNK_CHARS = 1 << 17;
/** Rows encoded between two checks of the chunk's size. */
const ROWS_PER_STEP = 64;

/** Runs `copySql` on `client` with `rows` as its data; resolves with the server's row count. */
export async function copyRows(
  client: pg.ClientBase,
  copySql: string,
  rows: readonly MetricEvent[],
  encode: RowEncoder,
): Promise<number> {
  const stream = client.query(copyFrom(copySql));
  let failure: Error | undefined;
  // `on`, not `once`: a second 'error' without a listener would crash the process.
  const failed = new Promise<never>((_, reject) =>
    stream.on('error', (error: Error) => {
      failure ??= error;
      reject(error);
    }),
  );
  failed.catch(() => undefined);
  const finished = new Promise<void>((resolve) => stream.once('finish', resolve));

  // One chunk in flight at most: pg-copy-streams must not hold buffered chunks when the server fails the COPY.
  let inFlight: Promise<void> = Promise.resolve();
  let start = 0;
  while (start < rows.length) {
    let chunk = '';
    while (chunk.length < CHUNK_CHARS && start < rows.length) {
      const end = Math.min(start + ROWS_PER_STEP, rows.length);
      chunk += encode(rows, start, end);
      start = end;
    }
    await Promise.race([inFlight, failed]);
    if (failure) throw failure;
    inFlight = new Promise((resolve) => stream.write(chunk, () => resolve()));
    // The socket often takes a chunk at once, and awaiting a settled promise never leaves the
    // event loop's current turn: yield, or a whole batch would be encoded in one stall.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await Promise.race([inFlight, failed]);
  if (failure) throw failure;
  stream.end();
  await Promise.race([finished, failed]);
  return stream.rowCount;
}
