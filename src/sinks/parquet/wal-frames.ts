/**
 * The frame around each record of a write-ahead log segment (format version
 * 2), so that one damaged byte costs only the record it is in: a reader that
 * meets a frame it cannot trust searches for the next marker whose header
 * checksum holds, and goes on from there. Pure: bytes in, bytes out.
 *
 *   offset  bytes
 *    0      4     marker FF 4C 57 46 ("\xffLWF"; 0xFF never occurs in UTF-8 text, so no payload holds it)
 *    4      1     kind: 1 segment header, 2 batch header, 3 rows
 *    5      3     zero
 *    8      4     batch: the batch's number in the segment, from 1 (0 for the segment header)
 *   12      4     rows: announced by a batch header, held by a rows record
 *   16      4     payload length in bytes
 *   20      4     CRC-32 of the payload
 *   24      4     CRC-32 of bytes 0 to 23
 *   28            payload: JSON for the headers, row lines for a rows record
 *
 * Numbers are little-endian, unsigned.
 */
import { crc32 } from 'node:zlib';

export const FRAME_MARKER = Buffer.from([0xff, 0x4c, 0x57, 0x46]);
export const FRAME_HEADER_BYTES = 28;

export const RecordKind = { segment: 1, batch: 2, rows: 3 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export interface FrameHeader {
  readonly kind: RecordKind;
  readonly batch: number;
  readonly rows: number;
  readonly length: number;
  readonly payloadCrc: number;
}

/** Writes the frame header of the payload at `payloadStart`..`payloadEnd` into `bytes` at `offset`. */
export function writeFrameHeader(
  bytes: Buffer,
  offset: number,
  record: { readonly kind: RecordKind; readonly batch: number; readonly rows: number },
  payloadEnd: number,
): void {
  const payloadStart = offset + FRAME_HEADER_BYTES;
  FRAME_MARKER.copy(bytes, offset);
  bytes.writeUInt32LE(record.kind, offset + 4); // kind, then three zero bytes
  bytes.writeUInt32LE(record.batch, offset + 8);
  bytes.writeUInt32LE(record.rows, offset + 12);
  bytes.writeUInt32LE(payloadEnd - payloadStart, offset + 16);
  bytes.writeUInt32LE(crc32(bytes.subarray(payloadStart, payloadEnd)), offset + 20);
  bytes.writeUInt32LE(crc32(bytes.subarray(offset, offset + 24)), offset + 24);
}

/** One whole record (frame header and payload) as a new buffer. */
export function frameRecord(
  record: { readonly kind: RecordKind; readonly batch: number; readonly rows: number },
  payload: string,
): Buffer {
  const length = Buffer.byteLength(payload);
  const bytes = Buffer.alloc(FRAME_HEADER_BYTES + length);
  bytes.write(payload, FRAME_HEADER_BYTES);
  writeFrameHeader(bytes, 0, record, bytes.length);
  return bytes;
}

function isKind(value: number): value is RecordKind {
  return value === RecordKind.segment || value === RecordKind.batch || value === RecordKind.rows;
}

/**
 * The frame header at `offset`, or undefined when no trustworthy one starts
 * there (not a marker, a failed header checksum, an unknown kind). The caller
 * checks that at least FRAME_HEADER_BYTES are there.
 */
export function readFrameHeader(bytes: Buffer, offset: number): FrameHeader | undefined {
  if (bytes.compare(FRAME_MARKER, 0, 4, offset, offset + 4) !== 0) return undefined;
  if (crc32(bytes.subarray(offset, offset + 24)) !== bytes.readUInt32LE(offset + 24)) return undefined;
  const kind = bytes.readUInt32LE(offset + 4);
  if (!isKind(kind)) return undefined;
  return {
    kind,
    batch: bytes.readUInt32LE(offset + 8),
    rows: bytes.readUInt32LE(offset + 12),
    length: bytes.readUInt32LE(offset + 16),
    payloadCrc: bytes.readUInt32LE(offset + 20),
  };
}

/** Whether a payload's bytes are those its frame header was written with. */
export function payloadIntact(header: FrameHeader, payload: Buffer): boolean {
  return crc32(payload) === header.payloadCrc;
}

/**
 * The offset of the next trustworthy frame header at or after `from`, or of
 * a marker too close to the end of `bytes` to judge (read more, then look
 * again there); -1 when there is neither.
 */
export function findFrame(bytes: Buffer, from: number): number {
  for (let at = bytes.indexOf(FRAME_MARKER, from); at !== -1; at = bytes.indexOf(FRAME_MARKER, at + 1)) {
    if (at + FRAME_HEADER_BYTES > bytes.length || readFrameHeader(bytes, at)) return at;
  }
  return -1;
}
