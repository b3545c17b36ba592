/**
 * The four text measures, defined once: characters are Unicode code points,
 * words are runs of non-whitespace (JavaScript's `\s`), bytes are UTF-8 bytes,
 * lines are newline characters + 1. One pass over the text, no copies.
 */

export interface TextMetrics {
  readonly chars: number;
  readonly words: number;
  readonly bytes: number;
  readonly lines: number;
}

export function measureText(text: string): TextMetrics {
  let chars = 0;
  let words = 0;
  let bytes = 0;
  let newlines = 0;
  let inWord = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      bytes += 1;
      if (unit === 0x0a) newlines++;
    } else if (unit < 0x800) {
      bytes += 2;
    } else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else {
      // A lone surrogate is stored as U+FFFD: three bytes, like any other BMP character here.
      bytes += 3;
    }
    chars++;
    const space = isWhitespace(unit);
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return { chars, words, bytes, lines: newlines + 1 };
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
