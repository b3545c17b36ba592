/**
 * The four text measures, defined once: characters are Unicode code points,
 * words are runs of non-whitespace (JavaScript's `\s`), bytes are UTF-8 bytes,
 * lines are newline characters + 1. No copies: the UTF-8 length is read
 * natively, then one loop counts the rest, a shorter one for ASCII text (most
 * prompts), where every unit is one character of one byte.
 */

export interface TextMetrics {
  readonly chars: number;
  readonly words: number;
  readonly bytes: number;
  readonly lines: number;
}

export function measureText(text: string): TextMetrics {
  // A lone surrogate counts 3 bytes, as the U+FFFD it is stored as.
  const bytes = Buffer.byteLength(text, 'utf8');
  // One byte a unit means ASCII: no surrogates, no whitespace beyond TAB to CR and space.
  return bytes === text.length ? measureAscii(text) : measureUnicode(text, bytes);
}

function measureAscii(text: string): TextMetrics {
  let words = 0;
  let newlines = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit > 0x20 || (unit !== 0x20 && (unit < 0x09 || unit > 0x0d))) {
      if (!inWord) words++;
      inWord = true;
    } else {
      if (unit === 0x0a) newlines++;
      inWord = false;
    }
  }
  return { chars: text.length, words, bytes: text.length, lines: newlines + 1 };
}

function measureUnicode(text: string, bytes: number): TextMetrics {
  const length = text.length;
  let words = 0;
  let newlines = 0;
  let pairs = 0;
  let inWord = false;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0x0a) newlines++;
    let space = false;
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length && isLowSurrogate(text.charCodeAt(i + 1))) {
      pairs++; // one code point in two units; no pair is whitespace
      i++;
    } else {
      space = isWhitespace(unit);
    }
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return { chars: length - pairs, words, bytes, lines: newlines + 1 };
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** The code units JavaScript's `\s` matches. */
function isWhitespace(unit: number): boolean {
  if (unit <= 0x20) return unit === 0x20 || (unit >= 0x09 && unit <= 0x0d);
  if (unit < 0xa0) return false;
  return (
    unit === 0xa0 ||
    unit === 0x1680 ||
    (unit >= 0x2000 && unit <= 0x200a) ||
    unit === 0x2028 ||
    unit === 0x2029 ||
    unit === 0x202f ||
    unit === 0x205f ||
    unit === 0x3000 ||
    unit === 0xfeff
  );
}
