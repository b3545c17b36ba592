/**
 * The Vercel AI SDK's own span attributes, versions 4 to 6 (ai 4.3.19
 * dist/index.mjs; ai 6.0.326 src/generate-text/generate-text.ts,
 * src/embed/embed.ts, src/generate-text/execute-tool-call.ts,
 * src/telemetry/get-base-telemetry-attributes.ts): `ai.operationId`,
 * `ai.prompt` (`{system, prompt, messages}`, Buffers serialised as
 * `{"type":"Buffer","data":[...]}`), `ai.prompt.messages` (images and files as
 * base64), `ai.response.text` / `object` / `toolCalls`, `ai.toolCall.*`,
 * `ai.value(s)` for embeddings, `ai.usage.*`, `ai.telemetry.metadata.*`.
 * Version 7 (@ai-sdk/otel 1.0.173) emits the GenAI form instead, plus
 * `ai.settings.context.*`.
 */
import { joinPieces, looseText, stringifyPart } from '../loose-text.js';
import { isRecord, type SpanView } from '../span-view.js';

export const AI_OPERATION_ID = 'ai.operationId';
export const AI_PROMPT = 'ai.prompt';
export const AI_PROMPT_MESSAGES = 'ai.prompt.messages';
export const AI_RESPONSE_TEXT = 'ai.response.text';
export const AI_RESPONSE_OBJECT = 'ai.response.object';
export const AI_RESPONSE_TOOL_CALLS = 'ai.response.toolCalls';
export const AI_RESPONSE_MODEL = 'ai.response.model';
/** The provider's own response details, as JSON keyed by provider (`{"openrouter": {"usage": {"cost": …}}}`). */
export const AI_SDK_PROVIDER_METADATA = 'ai.response.providerMetadata';
export const AI_MODEL_ID = 'ai.model.id';
export const AI_MODEL_PROVIDER = 'ai.model.provider';
export const AI_TOOL_CALL_NAME = 'ai.toolCall.name';
export const AI_TELEMETRY_FUNCTION_ID = 'ai.telemetry.functionId';
export const AI_TELEMETRY_METADATA = 'ai.telemetry.metadata.';
export const AI_SETTINGS_CONTEXT = 'ai.settings.context.';

const TOOL_ARGS = ['ai.toolCall.args', 'ai.toolCall.input'];
const TOOL_RESULT = ['ai.toolCall.result', 'ai.toolCall.output'];
const EMBED_VALUES = ['ai.value', 'ai.values'];

/** ai.usage.* by version: 4 (promptTokens), 5 and 6 (inputTokens and details); `tokens` for embeddings. */
export const AI_USAGE = {
  input: ['ai.usage.inputTokens', 'ai.usage.promptTokens'],
  output: ['ai.usage.outputTokens', 'ai.usage.completionTokens'],
  total: ['ai.usage.totalTokens'],
  cacheRead: ['ai.usage.inputTokenDetails.cacheReadTokens', 'ai.usage.cachedInputTokens'],
  cacheCreation: ['ai.usage.inputTokenDetails.cacheWriteTokens'],
  reasoning: ['ai.usage.outputTokenDetails.reasoningTokens', 'ai.usage.reasoningTokens'],
  embedding: 'ai.usage.tokens',
} as const;

export const AI_SDK_IMAGE_ATTRIBUTES = { input: [AI_PROMPT, AI_PROMPT_MESSAGES], output: [] } as const;

/** The keys aiSdkInputText reads. */
export const AI_SDK_INPUT_KEYS = [AI_PROMPT_MESSAGES, AI_PROMPT, ...EMBED_VALUES, ...TOOL_ARGS];

export function aiSdkInputText(view: SpanView): string | undefined {
  const messages = view.json(AI_PROMPT_MESSAGES);
  if (messages !== undefined) return messagesText(messages) ?? '';
  const prompt = view.json(AI_PROMPT);
  if (isRecord(prompt)) {
    const inner = prompt['prompt'];
    return (
      joinPieces([
        systemText(prompt['system']),
        typeof inner === 'string' ? inner : messagesText(inner),
        messagesText(prompt['messages']),
      ]) ?? ''
    );
  }
  const embedded = firstPresent(view, EMBED_VALUES);
  if (embedded !== undefined) return embedText(view, embedded);
  return looseFirst(view, TOOL_ARGS);
}

/** The keys aiSdkOutputText reads. */
export const AI_SDK_OUTPUT_KEYS = [
  AI_RESPONSE_TEXT,
  AI_RESPONSE_OBJECT,
  AI_RESPONSE_TOOL_CALLS,
  ...TOOL_RESULT,
];

export function aiSdkOutputText(view: SpanView): string | undefined {
  const text = view.string(AI_RESPONSE_TEXT) ?? view.string(AI_RESPONSE_OBJECT);
  const toolCalls = toolCallsText(view.json(AI_RESPONSE_TOOL_CALLS));
  if (text !== undefined || toolCalls !== undefined) return joinPieces([text, toolCalls]);
  if (view.get(AI_RESPONSE_TEXT) === '') return '';
  return looseFirst(view, TOOL_RESULT);
}

function systemText(system: unknown): string | undefined {
  if (typeof system === 'string') return system;
  if (Array.isArray(system))
    return joinPieces(system.map((m) => (isRecord(m) ? stringifyPart(m['content']) : undefined)));
  return isRecord(system) ? stringifyPart(system['content']) : undefined;
}

/** Messages whose content is a string or a list of parts (text, tool-call, tool-result, image, file). */
function messagesText(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  const pieces: (string | undefined)[] = [];
  for (const message of messages) {
    if (!isRecord(message)) continue;
    const content = message['content'];
    if (typeof content === 'string') {
      pieces.push(content);
      continue;
    }
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      if (!isRecord(part)) continue;
      // Reasoning is not text the model was given or answered, as in the GenAI conventions (genai.ts).
      if (part['type'] === 'text') pieces.push(stringifyPart(part['text']));
      else if (part['type'] === 'tool-call') pieces.push(stringifyPart(part['input'] ?? part['args']));
      else if (part['type'] === 'tool-result') pieces.push(toolResultText(part['output'] ?? part['result']));
    }
  }
  return joinPieces(pieces);
}

/**
 * A tool result in a prompt: AI SDK 5 and later wrap it as `{type, value}`
 * (`json`, `text`, `error-json`, `error-text`, `content`); what the tool
 * returned is the value, measured as the other conventions measure it.
 */
function toolResultText(output: unknown): string | undefined {
  if (!isRecord(output) || typeof output['type'] !== 'string' || !('value' in output)) {
    return stringifyPart(output);
  }
  const value = output['value'];
  if (output['type'] !== 'content' || !Array.isArray(value)) return stringifyPart(value);
  return joinPieces(
    value.map((item) =>
      isRecord(item) && item['type'] === 'text' ? stringifyPart(item['text']) : undefined,
    ),
  );
}

function toolCallsText(toolCalls: unknown): string | undefined {
  if (!Array.isArray(toolCalls)) return undefined;
  return joinPieces(
    toolCalls.map((call) => (isRecord(call) ? stringifyPart(call['input'] ?? call['args']) : undefined)),
  );
}

/**
 * `ai.value` is one JSON-encoded value, `ai.values` an array of them: read
 * up to maxMeasured characters in all, as any one value is.
 */
function embedText(view: SpanView, key: string): string {
  const value = view.get(key);
  if (!Array.isArray(value)) return embeddedText(view, value) ?? '';
  const pieces: (string | undefined)[] = [];
  let room = view.maxMeasured;
  for (const item of value) {
    if (room <= 0) {
      view.noteCut();
      break;
    }
    const piece = embeddedText(
      view,
      typeof item === 'string' && item.length > room ? item.slice(0, room) : item,
    );
    if (typeof item === 'string' && item.length > room) view.noteCut();
    room -= typeof item === 'string' ? item.length : 1;
    pieces.push(piece);
  }
  return joinPieces(pieces) ?? '';
}

function embeddedText(view: SpanView, item: unknown): string | undefined {
  if (typeof item !== 'string') return stringifyPart(item);
  const bounded = view.bounded(item);
  try {
    return stringifyPart(JSON.parse(bounded) as unknown);
  } catch {
    return bounded;
  }
}

function firstPresent(view: SpanView, keys: readonly string[]): string | undefined {
  return keys.find((key) => view.get(key) !== undefined);
}

function looseFirst(view: SpanView, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const raw = view.string(key);
    if (raw !== undefined) return looseText(raw, view.json(key));
  }
  return undefined;
}
