/** The first line of a spill or dead-letter file, read alone: the header says what the file holds. */
import { open } from 'node:fs/promises';

/** The longest header line: its fields, and a reason or error of 2,000 characters of 6 JSON bytes each. */
export const HEADER_MAX_BYTES = 16 * 1024;

/** The text before the first newline of the file's first HEADER_MAX_BYTES; undefined when it cannot be read. */
export async function readHeaderLine(path: string): Promise<string | undefined> {
  try {
    const file = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await file.read({ buffer: Buffer.alloc(HEADER_MAX_BYTES), position: 0 });
      const text = buffer.subarray(0, bytesRead).toString('utf8');
      const newline = text.indexOf('\n');
      return newline < 0 ? text : text.slice(0, newline);
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
}
