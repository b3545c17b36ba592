/**
 * The settings a call was made with, for custom_attributes.request: `stream`,
 * `temperature`, `max_tokens`, `top_p`, `tool_choice`, each where the span
 * names it.
 *
 * - GenAI conventions (semantic-conventions-genai model/gen-ai/registry.yaml):
 *   `gen_ai.request.stream`, `.temperature`, `.max_tokens`, `.top_p`.
 * - AI SDK: `ai.settings.temperature`, `ai.settings.maxOutputTokens`
 *   (`maxTokens` before 5), `ai.settings.topP`, `ai.prompt.toolChoice` (JSON
 *   `{"type": ...}`); `ai.operationId` tells a stream (`ai.streamText`,
 *   `ai.streamObject` and their `doStream`) from a generation.
 * - OpenInference: `llm.invocation_parameters`, the request body less its
 *   messages (`stream`, `temperature`, `max_tokens` or `max_completion_tokens`,
 *   `top_p`, `tool_choice`).
 * A span that records a first-token time was streamed.
 */
import type { JsonObject, JsonValue } from '../schema/columns.js';
import { sanitizeText, truncateCodePoints } from '../schema/fit-row.js';
import { LLM_INVOCATION_PARAMETERS } from './conventions/openinference.js';
import { KeyGroup, groupedKeys, keyGroupOf, type GroupedKey } from './key-index.js';
import { isRecord, type SpanView } from './span-view.js';

const [GENAI_STREAM, GENAI_TEMPERATURE, GENAI_MAX_TOKENS, GENAI_TOP_P] = groupedKeys([
  'gen_ai.request.stream',
  'gen_ai.request.temperature',
  'gen_ai.request.max_tokens',
  'gen_ai.request.top_p',
]) as [GroupedKey, GroupedKey, GroupedKey, GroupedKey];
const [AI_TEMPERATURE, AI_MAX_OUTPUT_TOKENS, AI_MAX_TOKENS, AI_TOP_P, AI_TOOL_CHOICE, AI_OPERATION_ID] =
  groupedKeys([
    'ai.settings.temperature',
    'ai.settings.maxOutputTokens',
    'ai.settings.maxTokens',
    'ai.settings.topP',
    'ai.prompt.toolChoice',
    'ai.operationId',
  ]) as [GroupedKey, GroupedKey, GroupedKey, GroupedKey, GroupedKey, GroupedKey];
const INVOCATION_PARAMETERS_GROUP = keyGroupOf(LLM_INVOCATION_PARAMETERS);
/** A span with keys in none of these names no setting: most spans skip every lookup. */
const SETTINGS_GROUPS = KeyGroup.requestSettings | INVOCATION_PARAMETERS_GROUP | AI_OPERATION_ID.group;

const STREAMING_OPERATIONS = new Set([
  'ai.streamText',
  'ai.streamText.doStream',
  'ai.streamObject',
  'ai.streamObject.doStream',
]);
const GENERATING_OPERATIONS = new Set([
  'ai.generateText',
  'ai.generateText.doGenerate',
  'ai.generateObject',
  'ai.generateObject.doGenerate',
]);

/** Longest tool choice kept (code points): a name, or a small object. */
const MAX_TOOL_CHOICE_CHARS = 256;

/** The request's settings; undefined when the span names none. `streamed`: the span recorded a first-token time. */
export function requestSettings(view: SpanView, streamed: boolean): JsonObject | undefined {
  if (!view.has(SETTINGS_GROUPS)) return streamed ? { stream: true } : undefined;
  const parameters = view.has(INVOCATION_PARAMETERS_GROUP) ? view.json(LLM_INVOCATION_PARAMETERS) : undefined;
  const body = isRecord(parameters) ? parameters : undefined;
  // Every key below but the operation id is in the requestSettings group: one check skips them all.
  const named = view.has(KeyGroup.requestSettings);
  const at = (key: GroupedKey): unknown => (named ? view.get(key.key) : undefined);
  const settings: JsonObject = {};
  const stream = booleanOf(at(GENAI_STREAM)) ?? booleanOf(body?.['stream']) ?? streamOfOperation(view);
  if (stream !== undefined || streamed) settings['stream'] = stream ?? true;
  const temperature =
    numberOf(at(GENAI_TEMPERATURE)) ?? numberOf(at(AI_TEMPERATURE)) ?? numberOf(body?.['temperature']);
  if (temperature !== undefined) settings['temperature'] = temperature;
  const maxTokens =
    numberOf(at(GENAI_MAX_TOKENS)) ??
    numberOf(at(AI_MAX_OUTPUT_TOKENS)) ??
    numberOf(at(AI_MAX_TOKENS)) ??
    numberOf(body?.['max_tokens']) ??
    numberOf(body?.['max_completion_tokens']);
  if (maxTokens !== undefined) settings['max_tokens'] = maxTokens;
  const topP = numberOf(at(GENAI_TOP_P)) ?? numberOf(at(AI_TOP_P)) ?? numberOf(body?.['top_p']);
  if (topP !== undefined) settings['top_p'] = topP;
  const toolChoice =
    toolChoiceOf(named ? view.json(AI_TOOL_CHOICE.key) : undefined) ?? toolChoiceOf(body?.['tool_choice']);
  if (toolChoice !== undefined) settings['tool_choice'] = toolChoice;
  for (const _key in settings) return settings;
  return undefined;
}

function streamOfOperation(view: SpanView): boolean | undefined {
  const operation = view.has(AI_OPERATION_ID.group) ? view.get(AI_OPERATION_ID.key) : undefined;
  if (typeof operation !== 'string') return undefined;
  if (STREAMING_OPERATIONS.has(operation)) return true;
  return GENERATING_OPERATIONS.has(operation) ? false : undefined;
}

function booleanOf(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** `auto`, `none`, `required`, or the tool named: from a string, or an object's `type` and tool name. */
function toolChoiceOf(value: unknown): JsonValue | undefined {
  if (typeof value === 'string' && value.length > 0) return bounded(value);
  if (!isRecord(value)) return undefined;
  const type = value['type'];
  if (typeof type !== 'string' || type.length === 0) return undefined;
  const fn = value['function'];
  const name = value['toolName'] ?? (isRecord(fn) ? fn['name'] : undefined) ?? value['name'];
  return typeof name === 'string' && name.length > 0 ? bounded(`${type}:${name}`) : bounded(type);
}

function bounded(text: string): string {
  return sanitizeText(truncateCodePoints(text, MAX_TOOL_CHOICE_CHARS));
}
