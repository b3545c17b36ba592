/**
 * The user a span's call is for, through every convention's name for it. The
 * span processor calls userIdFromAttributes at span start to hand a user down
 * to children that lack one (the AI SDK 7 names the user on invoke_agent and
 * step only, not on the chat spans that hold the tokens).
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import { AI_SETTINGS_CONTEXT, AI_TELEMETRY_METADATA } from './conventions/ai-sdk.js';
import { LANGFUSE_USER_ID } from './conventions/langfuse.js';
import { TRACELOOP_ASSOCIATION_PROPERTIES } from './conventions/openllmetry.js';
import { ATTR_USER_ID } from './genai-names.js';
import { groupedKeys } from './key-index.js';
import type { SpanView } from './span-view.js';

/** The user key under a user-keyed prefix is the user's choice: both spellings are read. */
export const USER_KEYS: readonly string[] = [
  ATTR_USER_ID,
  LANGFUSE_USER_ID,
  `${TRACELOOP_ASSOCIATION_PROPERTIES}user_id`,
  `${TRACELOOP_ASSOCIATION_PROPERTIES}userId`,
  `${AI_TELEMETRY_METADATA}userId`,
  `${AI_TELEMETRY_METADATA}user_id`,
  `${AI_SETTINGS_CONTEXT}userId`,
  `${AI_SETTINGS_CONTEXT}user_id`,
];
const USER_SOURCES = groupedKeys(USER_KEYS);

/** The span's own user, as text; undefined when it names none. */
export function userIdFromAttributes(attributes: Attributes): string | undefined {
  for (const { key } of USER_SOURCES) {
    const user = userValue(attributes[key]);
    if (user !== undefined) return String(user);
  }
  return undefined;
}

/** The user of a finished span's view, as the span holds it (a number stays a number). */
export function userIdInView(view: SpanView): string | number | undefined {
  for (const { key, group } of USER_SOURCES) {
    if (!view.has(group)) continue;
    const user = userValue(view.get(key));
    if (user !== undefined) return user;
  }
  return undefined;
}

function userValue(value: AttributeValue | undefined): string | number | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return undefined;
}
