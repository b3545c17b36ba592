/**
 * OpenLLMetry (Traceloop). Older releases (e.g. @traceloop/instrumentation-openai
 * 0.22.5, dist/index.js startSpan/_endSpan) flatten messages into
 * `gen_ai.prompt.N.{role,content}` and `gen_ai.completion.N.{role,content,
 * tool_calls.M.arguments,function_call.arguments}`; content is a string, or a
 * JSON array of OpenAI content parts. Its SDK adds `traceloop.span.kind`,
 * `traceloop.entity.input` / `output` and `traceloop.association.properties.*`
 * (@traceloop/ai-semantic-conventions 0.27.0, SemanticAttributes.js).
 */
import { joinPieces, looseText } from '../loose-text.js';
import { isRecord, type SpanView } from '../span-view.js';

export const TRACELOOP_SPAN_KIND = 'traceloop.span.kind';
export const TRACELOOP_ENTITY_INPUT = 'traceloop.entity.input';
export const TRACELOOP_ENTITY_OUTPUT = 'traceloop.entity.output';
export const TRACELOOP_ENTITY_NAME = 'traceloop.entity.name';
export const TRACELOOP_WORKFLOW_NAME = 'traceloop.workflow.name';
export const TRACELOOP_ASSOCIATION_PROPERTIES = 'traceloop.association.properties.';
export const LLM_REQUEST_TYPE = 'llm.request.type';
export const LLM_USAGE_TOTAL_TOKENS = 'llm.usage.total_tokens';
export const GEN_AI_USAGE_TOTAL_TOKENS = 'gen_ai.usage.total_tokens';
export const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read_input_tokens';
export const GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation_input_tokens';
export const GEN_AI_USAGE_REASONING_TOKENS = 'gen_ai.usage.reasoning_tokens';

const INDEXED_TEXT =
  /^gen_ai\.(?:prompt|completion)\.(\d+)\.(content|tool_calls\.(\d+)\.arguments|function_call\.arguments)$/;

export function indexedPromptText(view: SpanView): string | undefined {
  return indexedText(view, view.keys.indexedPrompts);
}

export function indexedCompletionText(view: SpanView): string | undefined {
  return indexedText(view, view.keys.indexedCompletions);
}

/** A key of the indexed form that may carry images: every `.content`. */
export function isIndexedContent(key: string): boolean {
  return key.endsWith('.content');
}

function indexedText(view: SpanView, keys: readonly string[]): string | undefined {
  const entries: { order: number; sub: number; text: string }[] = [];
  for (const key of keys) {
    const match = INDEXED_TEXT.exec(key);
    const raw = view.string(key);
    if (!match || raw === undefined) continue;
    const text = match[2] === 'content' ? contentText(raw, view.json(key)) : raw;
    entries.push({ order: Number(match[1]), sub: match[3] === undefined ? -1 : Number(match[3]), text });
  }
  if (entries.length === 0) return keys.length > 0 ? '' : undefined;
  entries.sort((a, b) => a.order - b.order || a.sub - b.sub);
  return entries.map((entry) => entry.text).join('\n');
}

/** A string, or a JSON array of OpenAI content parts of which the text parts count. */
function contentText(raw: string, parsed: unknown): string {
  if (!Array.isArray(parsed)) return raw;
  const pieces: (string | undefined)[] = [];
  for (const part of parsed) {
    if (typeof part === 'string') pieces.push(part);
    else if (isRecord(part) && part['type'] === 'text' && typeof part['text'] === 'string')
      pieces.push(part['text']);
  }
  return joinPieces(pieces) ?? '';
}

export function entityInputText(view: SpanView): string | undefined {
  const raw = view.string(TRACELOOP_ENTITY_INPUT);
  return raw === undefined ? undefined : looseText(raw, view.json(TRACELOOP_ENTITY_INPUT));
}

export function entityOutputText(view: SpanView): string | undefined {
  const raw = view.string(TRACELOOP_ENTITY_OUTPUT);
  return raw === undefined ? undefined : looseText(raw, view.json(TRACELOOP_ENTITY_OUTPUT));
}
