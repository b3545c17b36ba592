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
import { groupedKeys, keyGroupOf, type GroupedKey } from './key-index.js';
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
  const parameters = view.has(INVOCATION_PARAMETERS_GROUP) ? view.json(LLM_INVOCATION_PARAMETERS) : undefined;
  const body = isRecord(parameters) ? parameters : undefined;
  const settings: JsonObject = {};
  const stream = firstBoolean(read(view, GENAI_STREAM), body?.['stream']) ?? streamOfOperation(view);
  if (stream !== undefined || streamed) settings['stream'] = stream ?? true;
  setNumber(
    settings,
    'temperature',
    read(view, GENAI_TEMPERATURE),
    read(view, AI_TEMPERATURE),
    body?.['temperature'],
  );
  setNumber(
    settings,
    'max_tokens',
    read(view, GENAI_MAX_TOKENS),
    read(view, AI_MAX_OUTPUT_TOKENS),
    read(view, AI_MAX_TOKENS),
    body?.['max_tokens'],
    body?.['max_completion_tokens'],
  );
  setNumber(settings, 'top_p', read(view, GENAI_TOP_P), read(view, AI_TOP_P), body?.['top_p']);
  const toolChoice =
    toolChoiceOf(view.has(AI_TOOL_CHOICE.group) ? view.json(AI_TOOL_CHOICE.key) : undefined) ??
    toolChoiceOf(body?.['tool_choice']);
  if (toolChoice !== undefined) settings['tool_choice'] = toolChoice;
  for (const _key in settings) return settings;
  return undefined;
}

function read(view: SpanView, { key, group }: GroupedKey): unknown {
  return view.has(group) ? view.get(key) : undefined;
}

function streamOfOperation(view: SpanView): boolean | undefined {
  const operation = read(view, AI_OPERATION_ID);
  if (typeof operation !== 'string') return undefined;
  if (STREAMING_OPERATIONS.has(operation)) return true;
  return GENERATING_OPERATIONS.has(operation) ? false : undefined;
}

function firstBoolean(...values: unknown[]): boolean | undefined {
  for (const value of values) if (typeof value === 'boolean') return value;
  return undefined;
}

function setNumber(settings: JsonObject, name: string, ...values: unknown[]): void {
  for (const value of values) {
    if (typeof value === 'number' && Number.isFinite(value)) {
      settings[name] = value;
      return;
    }
  }
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
