/**
 * Whether a live span may name a session or a user: the span processor asks
 * at each span's start and end, on the application's thread. Most spans name
 * neither, and reading each of the seventeen keys by name costs a missed
 * lookup on the span's attribute object each; one pass over the span's own
 * keys, usually fewer, answers the common case. A span with more keys than
 * there are identity keys is read by name (sessionIdFromAttributes,
 * userIdFromAttributes), which then costs less.
 */
import type { Attributes } from '@opentelemetry/api';
import { SESSION_KEYS } from './session-id.js';
import { USER_KEYS } from './user-id.js';

const IDENTITY_KEYS = new Set([...SESSION_KEYS, ...USER_KEYS]);

/** True when the span surely names no session and no user; false when it may (then read them by name). */
export function namesNoIdentity(attributes: Attributes): boolean {
  let keys = 0;
  for (const key in attributes) {
    if (++keys > IDENTITY_KEYS.size || IDENTITY_KEYS.has(key)) return false;
  }
  return true;
}
