/**
 * OpenInference (Arize): flattened messages `llm.input_messages.N.message.content`
 * or `...message.contents.M.message_content.{type,text,image.image.url}`,
 * `llm.output_messages.*` with `message.tool_calls.K.tool_call.function.arguments`,
 * `input.value` / `output.value` with their mime types, embedding texts, and
 * `llm.token_count.*` (@arizeai/openinference-semantic-conventions 2.12.0,
 * src/trace/SemanticConventions.ts; @arizeai/openinference-instrumentation-openai
 * 4.2.7, src/instrumentation.ts). Images over 32,000 base64 characters are
 * replaced by `__REDACTED__` in the messages (@arizeai/openinference-core,
 * trace-config/constants.ts) while `input.value` keeps the request whole.
 */
import { joinPieces, looseText } from '../loose-text.js';
import type { SpanView } from '../span-view.js';

export const OPENINFERENCE_SPAN_KIND = 'openinference.span.kind';
export const INPUT_VALUE = 'input.value';
export const INPUT_MIME_TYPE = 'input.mime_type';
export const OUTPUT_VALUE = 'output.value';
export const OUTPUT_MIME_TYPE = 'output.mime_type';
export const LLM_MODEL_NAME = 'llm.model_name';
/** The request's settings as JSON, the request model among them (`model`). */
export const LLM_INVOCATION_PARAMETERS = 'llm.invocation_parameters';
export const LLM_PROVIDER = 'llm.provider';
export const LLM_SYSTEM = 'llm.system';
export const EMBEDDING_MODEL_NAME = 'embedding.model_name';
export const LLM_TOKEN_COUNT_PROMPT = 'llm.token_count.prompt';
export const LLM_TOKEN_COUNT_COMPLETION = 'llm.token_count.completion';
export const LLM_TOKEN_COUNT_TOTAL = 'llm.token_count.total';
export const LLM_TOKEN_COUNT_CACHE_READ = 'llm.token_count.prompt_details.cache_read';
export const LLM_TOKEN_COUNT_CACHE_WRITE = 'llm.token_count.prompt_details.cache_write';
export const LLM_TOKEN_COUNT_REASONING = 'llm.token_count.completion_details.reasoning';
export const METADATA = 'metadata';
export const TOOL_NAME = 'tool.name';
export const REDACTED_VALUE = '__REDACTED__';

const MESSAGE_TEXT =
  /^llm\.(?:input|output)_messages\.(\d+)\.message\.(?:content|contents\.(\d+)\.message_content\.text|tool_calls\.(\d+)\.tool_call\.function\.arguments)$/;
const IMAGE_URL_SUFFIX = '.message_content.image.image.url';

export function openInferenceInputText(view: SpanView): string | undefined {
  return messagesText(view, view.keys.openInferenceInput);
}

export function openInferenceOutputText(view: SpanView): string | undefined {
  return messagesText(view, view.keys.openInferenceOutput);
}

/** A `llm.{input,output}_messages.*` key that holds an image URL. */
export function isOpenInferenceImageUrl(key: string): boolean {
  return key.endsWith(IMAGE_URL_SUFFIX);
}

function messagesText(view: SpanView, keys: readonly string[]): string | undefined {
  const entries: { message: number; part: number; text: string }[] = [];
  for (const key of keys) {
    const match = MESSAGE_TEXT.exec(key);
    const text = view.string(key);
    if (!match || text === undefined) continue;
    entries.push({ message: Number(match[1]), part: Number(match[2] ?? match[3] ?? -1), text });
  }
  if (entries.length === 0) return keys.length > 0 ? '' : undefined;
  entries.sort((a, b) => a.message - b.message || a.part - b.part);
  return entries.map((entry) => entry.text).join('\n');
}

export function openInferenceEmbeddingText(view: SpanView): string | undefined {
  const keys = view.keys.openInferenceEmbeddingTexts;
  if (keys.length === 0) return undefined;
  const ordered = [...keys].sort((a, b) => embeddingIndex(a) - embeddingIndex(b));
  return joinPieces(ordered.map((key) => view.string(key)));
}

function embeddingIndex(key: string): number {
  return Number(key.slice('embedding.embeddings.'.length, key.indexOf('.', 'embedding.embeddings.'.length)));
}

export function inputValueText(view: SpanView): string | undefined {
  return valueText(view, INPUT_VALUE, INPUT_MIME_TYPE);
}

export function outputValueText(view: SpanView): string | undefined {
  return valueText(view, OUTPUT_VALUE, OUTPUT_MIME_TYPE);
}

function valueText(view: SpanView, key: string, mimeKey: string): string | undefined {
  const raw = view.string(key);
  if (raw === undefined) return undefined;
  return view.string(mimeKey) === 'text/plain' ? raw : looseText(raw, view.json(key));
}
