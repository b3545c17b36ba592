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
const VARIANT_DIGITS = '89ab';

export function eventIdOf(traceId: string, spanId: string): string {
  const hex = hash('sha1', hashInput(traceId, spanId), 'hex');
  // Version 5 in the 13th hex digit, the RFC 9562 variant (10xx) in the 17th.
  const variant = VARIANT_DIGITS[hexDigitValue(hex.charCodeAt(16)) & 0x3]!;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
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

function hexDigitValue(unit: number): number {
  return unit <= 0x39 ? unit - 0x30 : unit - 0x57;
}
