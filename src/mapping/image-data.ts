/**
 * One image as a span carries it (base64 text, a byte array, a URI or only a
 * placeholder) and what can be measured of it without decoding it: the format
 * and size from the header in its first bytes, its byte count from the length
 * of the base64 text, and a key that is the same wherever the span repeats it
 * (made only when another image of the span has the same size).
 */
import { readImageHeader, sniffFormat, type ImageFormat, type ImageHeader } from './image-header.js';

export type ImageData =
  | { readonly kind: 'base64'; readonly base64: string; readonly mimeType?: string | undefined }
  | { readonly kind: 'bytes'; readonly bytes: ArrayLike<unknown>; readonly mimeType?: string | undefined }
  | { readonly kind: 'uri'; readonly uri: string; readonly mimeType?: string | undefined }
  /** An image the span names but does not hold (a redacted or replaced one). */
  | { readonly kind: 'placeholder'; readonly label: string; readonly mimeType?: string | undefined };

export interface ImageMeasure {
  readonly format: ImageFormat | null;
  readonly width: number | null;
  readonly height: number | null;
  readonly bytes: number | null;
}

/** Base64 characters decoded first: 48 bytes hold every header but a JPEG's, which may lie further in. */
const FIRST_HEADER_BASE64_CHARS = 64;
const FIRST_HEADER_BYTES = 48;
/** Base64 characters decoded to read a header: 3 KiB of image. */
const HEADER_BASE64_CHARS = 4096;
/** How far a JPEG's metadata (EXIF, ICC) may push its frame header before the size is left unknown. */
const JPEG_SEARCH_BASE64_CHARS = 262_144;
/** The dedupe key samples the image's head, middle and tail, in 3-byte groups (4 base64 characters). */
const KEY_HEAD_GROUPS = 16;
const KEY_SAMPLE_GROUPS = 8;

const UNMEASURED: ImageMeasure = { format: null, width: null, height: null, bytes: null };

export function measureImage(image: ImageData): ImageMeasure {
  switch (image.kind) {
    case 'base64': {
      const length = unpaddedLength(image.base64);
      const header = base64Header(image.base64, length);
      return {
        format: header.format,
        width: header.width,
        height: header.height,
        bytes: base64Bytes(length),
      };
    }
    case 'bytes': {
      const header = bytesHeader(image.bytes);
      return { format: header.format, width: header.width, height: header.height, bytes: image.bytes.length };
    }
    case 'uri':
    case 'placeholder':
      return UNMEASURED;
  }
}

/**
 * A number that two copies of an image share (its byte count, a URI's
 * length): images that differ in it differ, so only images that share it
 * need their keys. Undefined for placeholders, which are never deduplicated.
 */
export function imageSize(image: ImageData): number | undefined {
  switch (image.kind) {
    case 'base64':
      return base64Bytes(unpaddedLength(image.base64));
    case 'bytes':
      return image.bytes.length;
    case 'uri':
      return image.uri.length;
    case 'placeholder':
      return undefined;
  }
}

/** The same for the same image in base64 or as bytes (and for the same URI); undefined for placeholders. */
export function imageKey(image: ImageData): string | undefined {
  switch (image.kind) {
    case 'base64':
      return base64Key(image.base64);
    case 'bytes':
      return bytesKey(image.bytes);
    case 'uri':
      return `uri:${image.uri.length}:${image.uri.slice(0, 512)}`;
    case 'placeholder':
      return undefined;
  }
}

function base64Bytes(unpaddedLength: number): number {
  return Math.floor((unpaddedLength * 3) / 4);
}

function base64Key(base64: string): string {
  const length = unpaddedLength(base64);
  const groups = Math.floor(length / 4);
  const middle = Math.floor(groups / 2);
  const tail = Math.max(0, groups - KEY_SAMPLE_GROUPS);
  const head = base64Sample(base64, 0, KEY_HEAD_GROUPS, groups);
  return `img:${base64Bytes(length)}:${head}:${base64Sample(base64, middle, KEY_SAMPLE_GROUPS, groups)}:${base64Sample(base64, tail, KEY_SAMPLE_GROUPS, groups)}`;
}

/** The header from as little of the text as it takes: most formats need only the first 48 bytes. */
function base64Header(base64: string, length: number): ImageHeader {
  const first = decodeBase64(base64, 0, Math.min(length, FIRST_HEADER_BASE64_CHARS));
  let header = readImageHeader(first);
  // Fewer bytes than asked for means the text holds line breaks or other non-base64 characters.
  const needsMore = header.needsMoreBytes === true || first.length < FIRST_HEADER_BYTES;
  if (!needsMore || length <= FIRST_HEADER_BASE64_CHARS) return header;
  header = readImageHeader(decodeBase64(base64, 0, Math.min(length, HEADER_BASE64_CHARS)));
  if (header.needsMoreBytes && length > HEADER_BASE64_CHARS) {
    header = readImageHeader(decodeBase64(base64, 0, Math.min(length, JPEG_SEARCH_BASE64_CHARS)));
  }
  return header;
}

/** `count` groups from `fromGroup`, as canonical base64: the same text as the same bytes given as a byte array. */
function base64Sample(base64: string, fromGroup: number, count: number, groups: number): string {
  const start = fromGroup * 4;
  const end = Math.min(groups, fromGroup + count) * 4;
  if (end <= start) return '';
  const text = base64.slice(start, end);
  return isCanonicalBase64(text) ? text : Buffer.from(text, 'base64').toString('base64');
}

function isCanonicalBase64(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const alphabet =
      (unit >= 0x41 && unit <= 0x5a) || // A-Z
      (unit >= 0x61 && unit <= 0x7a) || // a-z
      (unit >= 0x30 && unit <= 0x39) || // 0-9
      unit === 0x2b || // +
      unit === 0x2f; // /
    if (!alphabet) return false;
  }
  return true;
}

function bytesHeader(values: ArrayLike<unknown>): ImageHeader {
  const length = values.length;
  const header = readImageHeader(toBytes(values, 0, Math.min(length, (HEADER_BASE64_CHARS / 4) * 3)));
  if (!header.needsMoreBytes || length <= (HEADER_BASE64_CHARS / 4) * 3) return header;
  return readImageHeader(toBytes(values, 0, Math.min(length, (JPEG_SEARCH_BASE64_CHARS / 4) * 3)));
}

function bytesKey(values: ArrayLike<unknown>): string {
  const length = values.length;
  const groups = Math.floor(length / 3);
  const middle = Math.floor(groups / 2);
  const tail = Math.max(0, groups - KEY_SAMPLE_GROUPS);
  const head = bytesSample(values, 0, KEY_HEAD_GROUPS, groups);
  return `img:${length}:${head}:${bytesSample(values, middle, KEY_SAMPLE_GROUPS, groups)}:${bytesSample(values, tail, KEY_SAMPLE_GROUPS, groups)}`;
}

function bytesSample(values: ArrayLike<unknown>, fromGroup: number, count: number, groups: number): string {
  const bytes = toBytes(values, fromGroup * 3, Math.min(groups, fromGroup + count) * 3);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Length without trailing padding or whitespace: what the decoded byte count follows from. */
function unpaddedLength(base64: string): number {
  let end = base64.length;
  while (end > 0) {
    const unit = base64.charCodeAt(end - 1);
    if (unit === 0x3d /* = */ || unit === 0x20 || unit === 0x0a || unit === 0x0d) end--;
    else break;
  }
  return end;
}

function decodeBase64(base64: string, start: number, end: number): Uint8Array {
  if (end <= start) return new Uint8Array(0);
  return Buffer.from(base64.slice(start, end), 'base64');
}

/** The base64 digits (A–Z a–z 0–9 + /) by code unit: 1 for a digit, 0 for every other unit. */
const BASE64_DIGITS = new Uint8Array(128);
for (const digit of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') {
  BASE64_DIGITS[digit.charCodeAt(0)] = 1;
}

function toBytes(values: ArrayLike<unknown>, start: number, end: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, end - start));
  for (let i = start; i < end; i++) {
    const value = values[i];
    out[i - start] = typeof value === 'number' ? value : 0;
  }
  return out;
}

const BASE64_HEAD = /^[A-Za-z0-9+/]{16}/;

/**
 * A string that a convention declares to be an image: a data: URL, a URI (any
 * scheme, or a file id), or raw base64. Undefined when it holds nothing.
 */
export function imageFromDeclaredString(value: string, mimeType?: string): ImageData | undefined {
  if (value.length === 0) return undefined;
  if (value.startsWith('data:')) return imageFromDataUrl(value, 0, true)?.image;
  if (hasUriScheme(value)) return { kind: 'uri', uri: value, mimeType };
  if (isBase64Head(value)) return { kind: 'base64', base64: value, mimeType };
  return { kind: 'uri', uri: value, mimeType };
}

/** Whether `value` starts with a URI scheme and its colon: a letter, then up to 31 of `a-z A-Z 0-9 + . -`. */
function hasUriScheme(value: string): boolean {
  if (!isLetter(value.charCodeAt(0))) return false;
  const limit = Math.min(value.length, 33);
  for (let i = 1; i < limit; i++) {
    const unit = value.charCodeAt(i);
    if (unit === 0x3a /* : */) return true;
    const schemeUnit =
      isLetter(unit) || (unit >= 0x30 && unit <= 0x39) || unit === 0x2b || unit === 0x2e || unit === 0x2d;
    if (!schemeUnit) return false;
  }
  return false;
}

function isLetter(unit: number): boolean {
  return (unit >= 0x41 && unit <= 0x5a) || (unit >= 0x61 && unit <= 0x7a);
}

/** Whether the first 256 code units of a non-empty `value` are base64 digits, padding and line breaks only. */
function isBase64Head(value: string): boolean {
  const limit = Math.min(value.length, 256);
  for (let i = 0; i < limit; i++) {
    const unit = value.charCodeAt(i);
    const base64 =
      (unit < 128 && BASE64_DIGITS[unit] === 1) || unit === 0x3d || unit === 0x0d || unit === 0x0a;
    if (!base64) return false;
  }
  return true;
}

/**
 * A string in a field that may hold an image (a `uri`, `url` or `data` field
 * without an image type): an image only when it is a data: URL of an image, or
 * base64 whose first bytes are an image's signature.
 */
export function imageFromUndeclaredString(value: string): ImageData | undefined {
  if (value.startsWith('data:image/')) return imageFromDataUrl(value, 0, true)?.image;
  if (!BASE64_HEAD.test(value)) return undefined;
  return sniffFormat(decodeBase64(value, 0, Math.min(value.length, 64))) === null
    ? undefined
    : { kind: 'base64', base64: value };
}

const BASE64_RUN = /[A-Za-z0-9+/]*={0,2}/y;

/**
 * The data: URL that starts at `start` in `text`, and where it ends. When it
 * is the whole value (an image field), its base64 runs to the end: taken
 * without a scan, so a 20 MB image costs what a small one does.
 */
export function imageFromDataUrl(
  text: string,
  start: number,
  wholeValue = false,
): { readonly image: ImageData; readonly end: number } | undefined {
  const comma = text.indexOf(',', start + 5);
  if (comma < 0 || comma - start > 256) return undefined;
  const header = text.slice(start + 5, comma);
  const semicolon = header.indexOf(';');
  const mimeType = (semicolon < 0 ? header : header.slice(0, semicolon)).toLowerCase() || undefined;
  if (!header.endsWith(';base64')) {
    // A percent-encoded image (rare): counted, its size unknown.
    return { image: { kind: 'placeholder', label: 'data_url', mimeType }, end: comma + 1 };
  }
  let end = text.length;
  if (!wholeValue) {
    BASE64_RUN.lastIndex = comma + 1;
    BASE64_RUN.exec(text);
    end = BASE64_RUN.lastIndex;
  }
  return { image: { kind: 'base64', base64: text.slice(comma + 1, end), mimeType }, end };
}

/** Every `data:image/...` URL inside free text (a prompt, a JSON body), at most `limit` of them. */
export function imagesInText(text: string, limit: number): ImageData[] {
  const found: ImageData[] = [];
  let from = 0;
  while (found.length < limit) {
    const at = text.indexOf('data:image/', from);
    if (at < 0) break;
    const dataUrl = imageFromDataUrl(text, at);
    if (!dataUrl) {
      from = at + 11;
      continue;
    }
    found.push(dataUrl.image);
    from = Math.max(dataUrl.end, at + 11);
  }
  return found;
}
