/**
 * Why a call stopped: its first finish reason, as the span names it. The
 * GenAI conventions give a list (`gen_ai.response.finish_reasons`, one per
 * choice), the AI SDK one string (`ai.response.finishReason`), OpenLLMetry's
 * older spans `llm.finish_reason`. The value is kept as the convention spells
 * it (`stop`, `length`, `tool_calls`, `tool-calls`).
 */
import { sanitizeText, truncateCodePoints } from '../schema/fit-row.js';
import { groupedKeys } from './key-index.js';
import type { SpanView } from './span-view.js';

const FINISH_REASON_SOURCES = groupedKeys([
  'gen_ai.response.finish_reasons',
  'ai.response.finishReason',
  'llm.finish_reason',
]);

/** Reasons listed at most in custom_attributes.finish_reasons (one per choice). */
const MAX_FINISH_REASONS = 16;
const MAX_FINISH_REASON_CHARS = 64;

/** Every finish reason the span names, one per choice, from the first source that names any; the column holds the first. */
export function finishReasonsInView(view: SpanView): string[] | undefined {
  for (const { key, group } of FINISH_REASON_SOURCES) {
    if (!view.has(group)) continue;
    const value = view.get(key);
    const listed = (Array.isArray(value) ? (value as unknown[]) : [value])
      .slice(0, MAX_FINISH_REASONS)
      .filter((reason): reason is string => typeof reason === 'string' && reason.length > 0)
      .map((reason) => sanitizeText(truncateCodePoints(reason, MAX_FINISH_REASON_CHARS)));
    if (listed.length > 0) return listed;
  }
  return undefined;
}
