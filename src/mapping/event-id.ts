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

export function eventIdOf(traceId: string, spanId: string): string {
  const name = `${traceId}:${spanId}`;
  const nameBytes = Buffer.byteLength(name, 'utf8');
  const data =
    nameBytes <= input.length - NAMESPACE_BYTES
      ? input.subarray(0, NAMESPACE_BYTES + input.write(name, NAMESPACE_BYTES, 'utf8'))
      : Buffer.concat([input.subarray(0, NAMESPACE_BYTES), Buffer.from(name, 'utf8')]);
  const hex = hash('sha1', data, 'hex');
  // Version 5 in the 13th hex digit, the RFC 9562 variant (10xx) in the 17th.
  const variant = (0x8 | (parseInt(hex[16]!, 16) & 0x3)).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
