/**
 * Format and pixel size of an image from its first bytes, without decoding it:
 * PNG (IHDR), GIF (logical screen), JPEG (the first SOFn segment), WebP
 * (VP8, VP8L, VP8X) and BMP. Anything else, or a header that is cut short or
 * names an impossible size, yields what could be read and nulls for the rest.
 */

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp';

export interface ImageHeader {
  readonly format: ImageFormat | null;
  readonly width: number | null;
  readonly height: number | null;
  /** JPEG only: the size was not found in these bytes, but may lie further in (after large metadata). */
  readonly needsMoreBytes?: boolean;
}

const UNKNOWN: ImageHeader = { format: null, width: null, height: null };
/** PNG and GIF cap sizes at 2^31-1 and 65535; anything larger is a lying header. */
const MAX_DIMENSION = 2 ** 31 - 1;

export function readImageHeader(bytes: Uint8Array): ImageHeader {
  if (isPng(bytes)) return png(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpeg(bytes);
  if (startsWithAscii(bytes, 0, 'GIF8')) return gif(bytes);
  if (startsWithAscii(bytes, 0, 'RIFF') && startsWithAscii(bytes, 8, 'WEBP')) return webp(bytes);
  if (startsWithAscii(bytes, 0, 'BM') && bytes.length >= 2) return bmp(bytes);
  return UNKNOWN;
}

/** The format alone, from as few bytes as its signature needs. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  return readImageHeader(bytes).format;
}

function isPng(bytes: Uint8Array): boolean {
  return (
    bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[4] === 0x0d
  );
}

function png(bytes: Uint8Array): ImageHeader {
  // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4).
  if (bytes.length < 24 || !startsWithAscii(bytes, 12, 'IHDR')) return { ...UNKNOWN, format: 'png' };
  return sized('png', uint32BE(bytes, 16), uint32BE(bytes, 20));
}

function gif(bytes: Uint8Array): ImageHeader {
  if (bytes.length < 10) return { ...UNKNOWN, format: 'gif' };
  return sized('gif', uint16LE(bytes, 6), uint16LE(bytes, 8));
}

function bmp(bytes: Uint8Array): ImageHeader {
  // BITMAPINFOHEADER: width int32 at 18, height int32 at 22 (negative = top-down).
  if (bytes.length < 26 || uint32LE(bytes, 14) < 12) return UNKNOWN;
  const width = int32LE(bytes, 18);
  const height = Math.abs(int32LE(bytes, 22));
  return sized('bmp', width, height);
}

function webp(bytes: Uint8Array): ImageHeader {
  const chunk = ascii(bytes, 12, 4);
  if (chunk === 'VP8 ' && bytes.length >= 30) {
    // Key frame start code 9d 01 2a, then 14-bit width and height.
    if (bytes[23] !== 0x9d || bytes[24] !== 0x01 || bytes[25] !== 0x2a) return { ...UNKNOWN, format: 'webp' };
    return sized('webp', uint16LE(bytes, 26) & 0x3fff, uint16LE(bytes, 28) & 0x3fff);
  }
  if (chunk === 'VP8L' && bytes.length >= 25) {
    if (bytes[20] !== 0x2f) return { ...UNKNOWN, format: 'webp' };
    const bits = uint32LE(bytes, 21);
    return sized('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X' && bytes.length >= 30) {
    return sized('webp', uint24LE(bytes, 24) + 1, uint24LE(bytes, 27) + 1);
  }
  return { ...UNKNOWN, format: 'webp' };
}

/** Walks the marker segments up to the first start-of-frame, which holds height and width. */
function jpeg(bytes: Uint8Array): ImageHeader {
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return { ...UNKNOWN, format: 'jpeg' };
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return { ...UNKNOWN, format: 'jpeg' }; // end of image, start of scan
    const length = uint16BE(bytes, offset + 2);
    if (length < 2) return { ...UNKNOWN, format: 'jpeg' };
    if (isStartOfFrame(marker)) {
      if (offset + 9 > bytes.length) return { ...UNKNOWN, format: 'jpeg', needsMoreBytes: true };
      return sized('jpeg', uint16BE(bytes, offset + 7), uint16BE(bytes, offset + 5));
    }
    offset += 2 + length;
  }
  return { ...UNKNOWN, format: 'jpeg', needsMoreBytes: true };
}

function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function sized(format: ImageFormat, width: number, height: number): ImageHeader {
  const valid = (n: number) => Number.isInteger(n) && n > 0 && n <= MAX_DIMENSION;
  return valid(width) && valid(height) ? { format, width, height } : { format, width: null, height: null };
}

function startsWithAscii(bytes: Uint8Array, at: number, text: string): boolean {
  if (bytes.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  let out = '';
  for (let i = at; i < at + length && i < bytes.length; i++) out += String.fromCharCode(bytes[i]!);
  return out;
}

const uint16BE = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const uint16LE = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const uint24LE = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
const uint32BE = (b: Uint8Array, at: number) =>
  ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
const uint32LE = (b: Uint8Array, at: number) =>
  ((b[at + 3]! << 24) >>> 0) + ((b[at + 2]! << 16) | (b[at + 1]! << 8) | b[at]!);
const int32LE = (b: Uint8Array, at: number) =>
  b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
