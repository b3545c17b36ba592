/**
 * The rows of one LOAD DATA, encoded a chunk at a time as the socket takes
 * them: memory stays at a few chunks, and the event loop gets a turn between
 * chunks however large the batch.
 */
import { Readable, type Writable } from 'node:stream';
import type { MetricEvent } from '../../schema/columns.js';

export type ChunkEncoder = (rows: readonly MetricEvent[], start: number, end: number) => string;

export interface RowStreamOptions {
  /** Rows encoded per chunk. */
  readonly rowsPerChunk: number;
  /** Largest buffer handed to the driver; each becomes one packet, which must stay below max_allowed_packet. */
  readonly maxChunkBytes: number;
  /** The connection's socket: no chunk is encoded while it still has a backlog. */
  readonly socket?: Writable | undefined;
}

export function encodedRowStream(
  rows: readonly MetricEvent[],
  encode: ChunkEncoder,
  options: RowStreamOptions,
): Readable {
  let next = 0;
  const { rowsPerChunk, maxChunkBytes, socket } = options;
  const stream = new Readable({
    read() {
      if (socket?.writableNeedDrain) socket.once('drain', produce);
      else if (next === 0) produce();
      else setImmediate(produce);
    },
  });
  function produce(): void {
    if (next >= rows.length) {
      stream.push(null);
      return;
    }
    const end = Math.min(rows.length, next + rowsPerChunk);
    let bytes: Buffer;
    try {
      bytes = Buffer.from(encode(rows, next, end), 'utf8');
    } catch (error) {
      // Runs from a timer or a socket event: a throw here would be uncaught; the driver fails the query instead.
      stream.destroy(error as Error);
      return;
    }
    next = end;
    for (let offset = 0; offset < bytes.length; offset += maxChunkBytes) {
      stream.push(bytes.subarray(offset, offset + maxChunkBytes));
    }
  }
  return stream;
}
