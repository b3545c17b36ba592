/**
 * JSON.parse in bounded time: reads at most `budget` characters of a JSON
 * attribute's text and structure, and parses what it read, its open strings,
 * arrays and objects closed where the budget ran out. A message list of 14 MB
 * then costs what its first `budget` characters cost, and its metrics are
 * those of that prefix (the caller marks them partial).
 *
 * Image data is not text: a long string that is a data: URL or raw base64 is
 * stepped over (its end found natively) without counting against the budget,
 * and put back, whole and uncopied, in the parsed value. An image is measured
 * from its length and its first bytes, so a request with a 20 MB photo stays
 * whole and exact, and costs less than JSON.parse of it would.
 */

export interface BoundedJson {
  /** The parsed value (of the prefix when `cut`). */
  readonly value: unknown;
  /** The budget ran out before the end of the document. */
  readonly cut: boolean;
  /** Characters read and counted against the budget: never more than the budget. */
  readonly read: number;
}

/** Strings at least this long that look like image data are stepped over rather than parsed. */
const IMAGE_DATA_MIN_CHARS = 1024;
/** Image strings stepped over in one document; past this, they are read like any string. */
const MAX_IMAGE_STRINGS = 256;
/** Characters of an image string's head that must be base64 for raw base64 to count as image data. */
const BASE64_HEAD_CHARS = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A container open at the reader's position, and where in it the reader is. */
interface Frame {
  readonly array: boolean;
  /** Arrays: the index of the current element. */
  index: number;
  /** Objects: where the key of the current member lies in the text, quotes included. */
  keyStart: number;
  keyEnd: number;
}

/** A string stepped over: where its content lies in the text, and where its value goes in the result. */
interface ImageString {
  readonly start: number;
  readonly end: number;
  readonly path: readonly (string | number)[];
}

/**
 * `raw` parsed, reading at most `budget` characters of it (image data
 * excepted); undefined when what was read is not JSON.
 */
export function parseBoundedJson(raw: string, budget: number): BoundedJson | undefined {
  const reader = new PrefixReader(raw, budget);
  const text = reader.read();
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
  for (const image of reader.images) value = placed(value, image.path, raw.slice(image.start, image.end));
  return { value, cut: reader.cut, read: reader.used };
}

/** `root` with `value` at `path` (an empty path replaces the root); unchanged where the path leads nowhere. */
function placed(root: unknown, path: readonly (string | number)[], value: string): unknown {
  if (path.length === 0) return value;
  let node: unknown = root;
  for (let i = 0; i < path.length - 1; i++) node = ownMember(node, path[i]!);
  const last = path[path.length - 1]!;
  if (ownMember(node, last) === '') (node as Record<string | number, unknown>)[last] = value;
  return root;
}

function ownMember(node: unknown, key: string | number): unknown {
  return typeof node === 'object' && node !== null && Object.hasOwn(node, key)
    ? (node as Record<string | number, unknown>)[key]
    : undefined;
}

/** What may follow in the document at the reader's position. */
const enum Expect {
  Value,
  /** A key, or the end of an object just opened. */
  Key,
  Colon,
  /** A comma, or the end of the container. */
  After,
  /** Nothing: the top-level value is complete. */
  End,
}

class PrefixReader {
  used = 0;
  cut = false;
  readonly images: ImageString[] = [];
  private readonly frames: Frame[] = [];
  private expect = Expect.Value;
  /** The last position where the text read so far closes into a whole document, and its open containers. */
  private safeIndex = 0;
  private safeDepth = 0;
  private safeImages = 0;

  constructor(
    private readonly raw: string,
    private readonly budget: number,
  ) {}

  /** The JSON text to parse: the document, or its prefix with every open container closed. */
  read(): string | undefined {
    const raw = this.raw;
    if (raw.length <= this.budget) {
      // Short enough to read whole, image data included: JSON.parse does it faster than any scan.
      this.used = raw.length;
      return raw;
    }
    let i = 0;
    while (i < raw.length) {
      if (this.used >= this.budget) return this.stop();
      const unit = raw.charCodeAt(i);
      if (unit === 0x20 || unit === 0x0a || unit === 0x0d || unit === 0x09) {
        i++;
        this.used++;
        continue;
      }
      if (unit === QUOTE) {
        const next = this.string(i);
        if (next === undefined) return undefined;
        if (typeof next === 'string') return next;
        i = next;
        continue;
      }
      this.used++;
      switch (unit) {
        case 0x7b: // {
        case 0x5b: // [
          if (this.expect !== Expect.Value) return undefined;
          this.frames.push({ array: unit === 0x5b, index: 0, keyStart: 0, keyEnd: 0 });
          this.expect = unit === 0x5b ? Expect.Value : Expect.Key;
          this.markSafe(i + 1);
          i++;
          break;
        case 0x7d: // }
        case 0x5d: // ]
          if (this.frames.pop() === undefined) return undefined;
          this.valueDone(i + 1);
          i++;
          break;
        case 0x2c: {
          // ,
          const top = this.frames[this.frames.length - 1];
          if (top === undefined || this.expect !== Expect.After) return undefined;
          if (top.array) top.index++;
          this.expect = top.array ? Expect.Value : Expect.Key;
          i++;
          break;
        }
        case 0x3a: // :
          if (this.expect !== Expect.Colon) return undefined;
          this.expect = Expect.Value;
          i++;
          break;
        default: {
          // A number, true, false or null: up to the next delimiter.
          if (this.expect !== Expect.Value) return undefined;
          const limit = Math.min(raw.length, i + this.budget - this.used + 2);
          let end = i + 1;
          while (end < limit && !isDelimiter(raw.charCodeAt(end))) end++;
          if (this.used - 1 + (end - i) > this.budget) return this.stop();
          this.used += end - i - 1;
          this.valueDone(end);
          i = end;
        }
      }
    }
    return this.withImages(raw.length, []);
  }

  /**
   * Reads the string that opens at `start`: returns where reading goes on, or
   * the finished text when the budget ran out inside it, or undefined for a
   * string where none may be. Its end is searched for no further than the
   * budget reaches, except in image data, which ends at its first quote.
   */
  private string(start: number): number | string | undefined {
    const raw = this.raw;
    const room = this.budget - this.used;
    const end = closingQuote(raw, start + 1, start + room - 1);
    if (this.expect === Expect.Key) {
      if (end < 0) return this.stop();
      this.used += end + 1 - start;
      const frame = this.frames[this.frames.length - 1]!;
      // Kept as a position: a key is made a string only for the path of an image under it.
      frame.keyStart = start;
      frame.keyEnd = end + 1;
      this.expect = Expect.Colon;
      return end + 1;
    }
    if (this.expect !== Expect.Value) return undefined;
    const short = end >= 0 && end - start - 1 < IMAGE_DATA_MIN_CHARS;
    if (!short && this.mayBeImageData(start + 1)) {
      const imageEnd = end >= 0 ? end : closingQuote(raw, start + 1, raw.length);
      if (imageEnd - start - 1 >= IMAGE_DATA_MIN_CHARS && !hasBackslash(raw, start + 1, imageEnd)) {
        this.images.push({ start: start + 1, end: imageEnd, path: this.path() });
        this.used += 2; // the quotes: an empty string stands in the text parsed
        this.valueDone(imageEnd + 1);
        return imageEnd + 1;
      }
    }
    if (end >= 0) {
      this.used += end + 1 - start;
      this.valueDone(end + 1);
      return end + 1;
    }
    // The budget ends inside this string: keep its head, closed, and every container open around it.
    this.cut = true;
    const kept = Math.min(raw.length, start + Math.max(1, room));
    this.used = this.budget;
    return this.withImages(escapeBoundary(raw, start + 1, kept), ['"'], this.frames.length);
  }

  /** Where the current value goes in the parsed document: array indexes and object keys from the root. */
  private path(): (string | number)[] {
    return this.frames.map((frame) =>
      frame.array ? frame.index : (JSON.parse(this.raw.slice(frame.keyStart, frame.keyEnd)) as string),
    );
  }

  /** A string value starting at `start` that may be image data: a data: URL, or a head of raw base64. */
  private mayBeImageData(start: number): boolean {
    if (this.images.length >= MAX_IMAGE_STRINGS) return false;
    return this.raw.startsWith('data:', start) || isBase64Run(this.raw, start, start + BASE64_HEAD_CHARS);
  }

  private valueDone(index: number): void {
    this.expect = this.frames.length === 0 ? Expect.End : Expect.After;
    this.markSafe(index);
  }

  private markSafe(index: number): void {
    this.safeIndex = index;
    this.safeDepth = this.frames.length;
    this.safeImages = this.images.length;
  }

  /** The budget ran out: the text up to the last point where the document closes whole. */
  private stop(): string | undefined {
    this.cut = true;
    this.used = Math.min(this.used, this.budget);
    this.images.length = this.safeImages;
    if (this.safeIndex === 0) return undefined;
    return this.withImages(this.safeIndex, [], this.safeDepth);
  }

  /** The text up to `end` with each image string emptied, then `tail`, then the closers of `depth` open containers. */
  private withImages(end: number, tail: string[], depth = 0): string {
    const pieces: string[] = [];
    let from = 0;
    for (const image of this.images) {
      pieces.push(this.raw.slice(from, image.start));
      from = image.end;
    }
    pieces.push(this.raw.slice(from, end), ...tail);
    for (let d = depth - 1; d >= 0; d--) pieces.push(this.frames[d]!.array ? ']' : '}');
    return pieces.join('');
  }
}

/**
 * The index of the quote that closes a string whose content starts at
 * `from`, searched up to `limit`; -1 when none does by then.
 */
function closingQuote(raw: string, from: number, limit: number): number {
  let at = raw.indexOf('"', from);
  while (at >= 0 && at <= limit) {
    let backslashes = 0;
    while (at - backslashes - 1 >= from && raw.charCodeAt(at - backslashes - 1) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = raw.indexOf('"', at + 1);
  }
  return -1;
}

/** Image data holds no escape: a backslash means text. */
function hasBackslash(raw: string, start: number, end: number): boolean {
  const at = raw.indexOf('\\', start);
  return at >= 0 && at < end;
}

/** `end`, moved back so that a string cut there ends neither inside an escape nor between a surrogate pair. */
function escapeBoundary(raw: string, start: number, end: number): number {
  // An escape is at most 6 characters (\uXXXX): look back that far for a backslash that opens one.
  for (let at = end - 1; at >= start && at >= end - 6; at--) {
    if (raw.charCodeAt(at) !== BACKSLASH) continue;
    let run = 1;
    while (at - run >= start && raw.charCodeAt(at - run) === BACKSLASH) run++;
    if (run % 2 === 1) {
      const length = raw.charCodeAt(at + 1) === 0x75 /* u */ ? 6 : 2;
      if (at + length > end) return at;
    }
    break;
  }
  const last = raw.charCodeAt(end - 1);
  return end > start && last >= 0xd800 && last <= 0xdbff ? end - 1 : end;
}

function isDelimiter(unit: number): boolean {
  return (
    unit === 0x2c ||
    unit === 0x5d ||
    unit === 0x7d ||
    unit === 0x20 ||
    unit === 0x0a ||
    unit === 0x0d ||
    unit === 0x09
  );
}

function isBase64Run(raw: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const unit = raw.charCodeAt(i);
    const base64 =
      (unit >= 0x41 && unit <= 0x5a) ||
      (unit >= 0x61 && unit <= 0x7a) ||
      (unit >= 0x30 && unit <= 0x39) ||
      unit === 0x2b ||
      unit === 0x2f;
    if (!base64) return false;
  }
  return true;
}
