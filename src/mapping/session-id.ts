/**
 * The session a span belongs to, through every convention's name for it. The
 * span processor calls sessionIdFromAttributes at span start to hand a
 * session down to children that lack one; the mapping adds the inherited
 * session and, last, the trace id (session_id is NOT NULL).
 */
import type { Attributes } from '@opentelemetry/api';
import { AI_SETTINGS_CONTEXT, AI_TELEMETRY_METADATA } from './conventions/ai-sdk.js';
import { LANGFUSE_SESSION_ID } from './conventions/langfuse.js';
import { TRACELOOP_ASSOCIATION_PROPERTIES } from './conventions/openllmetry.js';
import { ATTR_GEN_AI_CONVERSATION_ID, ATTR_SESSION_ID } from './genai-names.js';
import { groupedKeys } from './key-index.js';
import type { SpanView } from './span-view.js';

/** The session key under a user-keyed prefix is the user's choice: both spellings are read. */
const USER_KEYED = ['session_id', 'sessionId'];

/** Where a span names its session, first found first. */
export const SESSION_KEYS: readonly string[] = [
  ATTR_SESSION_ID,
  ATTR_GEN_AI_CONVERSATION_ID,
  LANGFUSE_SESSION_ID,
  ...USER_KEYED.map((key) => TRACELOOP_ASSOCIATION_PROPERTIES + key),
  ...USER_KEYED.map((key) => AI_TELEMETRY_METADATA + key),
  ...USER_KEYED.map((key) => AI_SETTINGS_CONTEXT + key),
];
const SPAN_SOURCES = groupedKeys(SESSION_KEYS);

/** The span's own session, else its resource's `session.id`; undefined when neither has one. */
export function sessionIdFromAttributes(
  attributes: Attributes,
  resourceAttributes?: Attributes,
): string | undefined {
  for (const { key } of SPAN_SOURCES) {
    const session = sessionValue(attributes[key]);
    if (session !== undefined) return session;
  }
  return resourceAttributes === undefined ? undefined : resourceSessionId(resourceAttributes);
}

/** The resource's `session.id`, a session for every span of the process. */
export function resourceSessionId(resourceAttributes: Attributes): string | undefined {
  return sessionValue(resourceAttributes[ATTR_SESSION_ID]);
}

/** sessionIdFromAttributes for a finished span's view: reads only the key groups the span has. */
export function sessionIdInView(view: SpanView): string | undefined {
  for (const { key, group } of SPAN_SOURCES) {
    if (!view.has(group)) continue;
    const session = sessionValue(view.get(key));
    if (session !== undefined) return session;
  }
  return sessionValue(view.resourceAttributes[ATTR_SESSION_ID]);
}

function sessionValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim().length > 0 ? value : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
