/**
 * Real PNG files made in memory, so that tests and captures send genuine
 * images whose width, height and byte size are known without shipping binaries.
 */
import { crc32, deflateSync } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** An 8-bit RGB PNG whose pixel (x, y) has the colour `pixel(x, y)`. */
export function makePng(
  width: number,
  height: number,
  pixel: (x: number, y: number) => readonly [number, number, number],
): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(8, 8); // bit depth
  header.writeUInt8(2, 9); // colour type: RGB
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const rowStart = y * (1 + width * 3); // each row starts with filter type 0
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      rows.set([r, g, b], rowStart + 1 + x * 3);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 4 x 3 solid red PNG: the small image every "chat with image" scenario sends. */
export const SMALL_PNG_WIDTH = 4;
export const SMALL_PNG_HEIGHT = 3;
export const SMALL_PNG: Buffer = makePng(SMALL_PNG_WIDTH, SMALL_PNG_HEIGHT, () => [255, 0, 0]);

/**
 * A 120 x 100 PNG of deterministic noise (it does not compress): its base64 form
 * is over 32,000 characters, the size past which OpenInference redacts an image.
 */
export const LARGE_PNG_WIDTH = 120;
export const LARGE_PNG_HEIGHT = 100;
export const LARGE_PNG: Buffer = (() => {
  let state = 0x2545f491;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state & 0xff;
  };
  return makePng(LARGE_PNG_WIDTH, LARGE_PNG_HEIGHT, () => [next(), next(), next()]);
})();

export function pngDataUrl(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}
