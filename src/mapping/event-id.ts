/**
 * event_id: a name-based UUID (RFC 9562 version 5, SHA-1) of the span's trace
 * id and span id, so the same span always gets the same id and a batch
 * written twice stores each row once.
 */
import { hash } from 'node:crypto';

/** The namespace of llamonitor event ids: uuidv5(NAMESPACE_URL, "https://llamonitor.dev/metric_events/event_id"). */
export const EVENT_ID_NAMESPACE = 'd3939c06-5531-58d1-b214-ad30440df749';

const NAMESPACE_BYTES = 16;
/** Namespace, then `traceId:spanId` (ids are hex, so one byte a character); reused: the mapping is synchronous. */
const input = Buffer.alloc(NAMESPACE_BYTES + 256);
Buffer.from(EVENT_ID_NAMESPACE.replaceAll('-', ''), 'hex').copy(input);
/** Views of `input` by length, made once: every span of an SDK has ids of the same lengths. */
const inputViews: Buffer[] = [];
const COLON = 0x3a;
const DASH = 0x2d;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** The id's 36 characters, written in place and read as one string: no hex string cut into five. */
const uuidText = Buffer.alloc(36);

export function eventIdOf(traceId: string, spanId: string): string {
  const digest = hash('sha1', hashInput(traceId, spanId), 'buffer');
  let at = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) uuidText[at++] = DASH;
    let byte = digest[i]!;
    // Version 5 in the 13th hex digit, the RFC 9562 variant (10xx) in the 17th.
    if (i === 6) byte = (byte & 0x0f) | 0x50;
    else if (i === 8) byte = (byte & 0x3f) | 0x80;
    uuidText[at++] = HEX_DIGITS[byte >> 4]!;
    uuidText[at++] = HEX_DIGITS[byte & 0x0f]!;
  }
  return uuidText.toString('latin1', 0, 36);
}

/** The namespace bytes followed by the UTF-8 bytes of `traceId:spanId`. */
function hashInput(traceId: string, spanId: string): Buffer {
  const length = NAMESPACE_BYTES + traceId.length + 1 + spanId.length;
  if (length <= input.length) {
    let at = writeAscii(traceId, NAMESPACE_BYTES);
    if (at >= 0) {
      input[at++] = COLON;
      at = writeAscii(spanId, at);
      if (at >= 0) return (inputViews[length] ??= input.subarray(0, length));
    }
  }
  return Buffer.concat([input.subarray(0, NAMESPACE_BYTES), Buffer.from(`${traceId}:${spanId}`, 'utf8')]);
}

/** Writes `text` into `input` at `at` when it is ASCII (as ids are); returns where it ended, or -1. */
function writeAscii(text: string, at: number): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit > 0x7f) return -1;
    input[at++] = unit;
  }
  return at;
}
