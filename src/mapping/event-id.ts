/**
 * event_id: a name-based UUID (RFC 9562 version 5, SHA-1) of the span's trace
 * id and span id, so the same span always gets the same id and a batch
 * written twice stores each row once.
 */
import { createHash } from 'node:crypto';

/** The namespace of llamonitor event ids: uuidv5(NAMESPACE_URL, "https://llamonitor.dev/metric_events/event_id"). */
export const EVENT_ID_NAMESPACE = 'd3939c06-5531-58d1-b214-ad30440df749';

const namespaceBytes = Buffer.from(EVENT_ID_NAMESPACE.replaceAll('-', ''), 'hex');

export function eventIdOf(traceId: string, spanId: string): string {
  const hash = createHash('sha1').update(namespaceBytes).update(`${traceId}:${spanId}`, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
