/**
 * custom_attributes: who and what made the call (model, provider, user,
 * service, instrumentation scope, span kind, the HTTP status of a call that
 * got one), the user's association
 * properties and metadata, the user's own `llamonitor.attr.*`, and, only when
 * content capture is on, the prompt and completion text. Every part is
 * bounded so one span cannot make a huge row.
 */
import { SpanKind, type AttributeValue } from '@opentelemetry/api';
import { ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { JsonObject, JsonValue } from '../schema/columns.js';
import { sanitizeText, setUserKey, truncateCodePoints } from '../schema/fit-row.js';
import { PROVIDER_SOURCES, type CallModels } from './call-identity.js';
import { AI_TELEMETRY_FUNCTION_ID, AI_TOOL_CALL_NAME } from './conventions/ai-sdk.js';
import { METADATA, TOOL_NAME } from './conventions/openinference.js';
import { TRACELOOP_ENTITY_NAME } from './conventions/openllmetry.js';
import { ATTR_GEN_AI_AGENT_NAME, ATTR_GEN_AI_TOOL_NAME } from './genai-names.js';
import { SPAN_NOT_ENDED, type SpanLike } from './span-like.js';
import { eventsOf } from './span-error.js';
import { requestSettings } from './request-settings.js';
import { groupedKeys, keyGroupOf, keyGroupsOf, type GroupedKey, type GroupedPrefix } from './key-index.js';
import { isRecord, type SpanView } from './span-view.js';

/** Longest kept string value (code points) in metadata, properties and identity fields. */
export const MAX_ATTRIBUTE_VALUE_CHARS = 1024;
/** Most keys kept in each of metadata, association_properties and the user's own attributes. */
export const MAX_KEYS_PER_GROUP = 64;
/** Longest prompt or completion kept (code points) when content capture is on. */
export const MAX_CONTENT_CHARS = 8192;

const AGENT_SOURCES = groupedKeys([ATTR_GEN_AI_AGENT_NAME, AI_TELEMETRY_FUNCTION_ID, TRACELOOP_ENTITY_NAME]);
const TOOL_SOURCES = groupedKeys([ATTR_GEN_AI_TOOL_NAME, TOOL_NAME, AI_TOOL_CALL_NAME]);
const HTTP_STATUS_GROUP = keyGroupOf(ATTR_HTTP_RESPONSE_STATUS_CODE);
const RESPONSE_ID_SOURCES = groupedKeys(['gen_ai.response.id', 'ai.response.id']);
const TOOL_CALL_ID_SOURCES = groupedKeys(['gen_ai.tool.call.id', 'ai.toolCall.id']);
const AGENT_ID_SOURCES = groupedKeys(['gen_ai.agent.id']);
const PROMPT_NAME_SOURCES = groupedKeys(['gen_ai.prompt.name']);
/** The GenAI conventions' evaluation attributes, by the key each gets in custom_attributes.evaluations. */
const EVALUATION_KEYS = [
  ['name', 'gen_ai.evaluation.name'],
  ['score_value', 'gen_ai.evaluation.score.value'],
  ['score_label', 'gen_ai.evaluation.score.label'],
  ['explanation', 'gen_ai.evaluation.explanation'],
] as const;
const EVALUATION_GROUPS = keyGroupsOf(...EVALUATION_KEYS.map(([, key]) => key));
const OPENINFERENCE_METADATA_GROUP = keyGroupOf(METADATA);
const METADATA_PREFIXES: readonly GroupedPrefix[] = [
  'ai.telemetry.metadata.',
  'ai.settings.context.',
  'langfuse.trace.metadata.',
  'langfuse.observation.metadata.',
];
/** The key groups metadata is read from: a span with keys in none of them has none. */
const METADATA_GROUPS = [...METADATA_PREFIXES, METADATA].reduce((groups, key) => groups | keyGroupOf(key), 0);

export interface CapturedContent {
  readonly input: string | undefined;
  readonly output: string | undefined;
}

/**
 * The span's identity as the mapping read it once for its columns too:
 * `models` (callModels), and `userId`, the span's own user or else that of
 * its nearest ancestor that had one (noted by the span processor).
 */
export function customAttributes(
  span: SpanLike,
  view: SpanView,
  content: CapturedContent | undefined,
  userId: string | number | undefined,
  models: CallModels,
  /** The span recorded a first-token time: it was streamed. */
  streamed = false,
  /** Every finish reason the span names (finish-reason.ts), read once for the column too. */
  finishReasons: readonly string[] | undefined = undefined,
): JsonObject {
  const out: JsonObject = {};
  // The 1.0 key: the response model first (the `model` column takes the request model first).
  const model = presentValue(models.response ?? models.request);
  if (model !== undefined) out['model'] = model;
  const requestModel = presentValue(models.request);
  if (requestModel !== undefined) out['request_model'] = requestModel;
  const responseModel = presentValue(models.response);
  if (responseModel !== undefined) out['response_model'] = responseModel;
  const provider = presentValue(first(view, PROVIDER_SOURCES));
  if (provider !== undefined) out['provider'] = provider;
  const user = presentValue(userId);
  if (user !== undefined) out['user_id'] = user;
  const agentName = presentValue(first(view, AGENT_SOURCES));
  if (agentName !== undefined) out['agent_name'] = agentName;
  const toolName = presentValue(first(view, TOOL_SOURCES));
  if (toolName !== undefined) out['tool_name'] = toolName;
  const serviceName = presentValue(view.resourceAttributes[ATTR_SERVICE_NAME]);
  if (serviceName !== undefined) out['service_name'] = serviceName;
  const scope = span.instrumentationScope ?? span.instrumentationLibrary;
  const scopeName = presentValue(scope?.name);
  if (scopeName !== undefined) out['scope_name'] = scopeName;
  const scopeVersion = presentValue(scope?.version);
  if (scopeVersion !== undefined) out['scope_version'] = scopeVersion;
  const spanKind = presentValue(spanKindName(span.kind));
  if (spanKind !== undefined) out['span_kind'] = spanKind;
  const status = view.has(HTTP_STATUS_GROUP) ? view.get(ATTR_HTTP_RESPONSE_STATUS_CODE) : undefined;
  if (typeof status === 'number' && Number.isInteger(status)) out['http_status_code'] = status;
  if (span[SPAN_NOT_ENDED] === true) out['span_not_ended'] = true;
  const request = requestSettings(view, streamed);
  if (request !== undefined) out['request'] = request;
  // One reason is the finish_reason column's; a list is kept when there are more (one per choice).
  if (finishReasons !== undefined && finishReasons.length > 1) out['finish_reasons'] = [...finishReasons];
  const responseId = presentValue(first(view, RESPONSE_ID_SOURCES));
  if (responseId !== undefined) out['response_id'] = responseId;
  const toolCallId = presentValue(first(view, TOOL_CALL_ID_SOURCES));
  if (toolCallId !== undefined) out['tool_call_id'] = toolCallId;
  const agentId = presentValue(first(view, AGENT_ID_SOURCES));
  if (agentId !== undefined) out['agent_id'] = agentId;
  const promptName = presentValue(first(view, PROMPT_NAME_SOURCES));
  if (promptName !== undefined) out['prompt_name'] = promptName;
  const evaluations = evaluationsOf(span, view);
  if (evaluations !== undefined) out['evaluations'] = evaluations;

  const properties = groupedValues(view, 'traceloop.association.properties.');
  if (properties) out['association_properties'] = properties;
  const metadata = metadataValues(view);
  if (metadata) out['metadata'] = metadata;
  putGroupedValues(out, view, 'llamonitor.attr.');

  if (content) {
    addContent(out, 'prompt', content.input);
    addContent(out, 'completion', content.output);
  }
  return out;
}

function first(view: SpanView, keys: readonly GroupedKey[]): AttributeValue | undefined {
  for (const { key, group } of keys) {
    if (!view.has(group)) continue;
    const value = view.get(key);
    if ((typeof value === 'string' && value.length > 0) || typeof value === 'number') return value;
  }
  return undefined;
}

/** Evaluation results listed at most. */
const MAX_EVALUATIONS = 16;
const EVALUATION_EVENT = 'gen_ai.evaluation.result';

/**
 * The evaluations the span reports: each `gen_ai.evaluation.result` event (the GenAI conventions'
 * form), else the same attributes on the span itself; `name`, `score_value`, `score_label`,
 * `explanation` where present.
 */
function evaluationsOf(span: SpanLike, view: SpanView): JsonObject[] | undefined {
  const found: JsonObject[] = [];
  const listed = eventsOf(span);
  const events = Array.isArray(listed) ? listed : [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (found.length >= MAX_EVALUATIONS) break;
    if (event?.name !== EVALUATION_EVENT || !isRecord(event.attributes)) continue;
    const evaluation = evaluationFrom((key) => event.attributes?.[key]);
    if (evaluation !== undefined) found.push(evaluation);
  }
  if (found.length === 0 && view.has(EVALUATION_GROUPS)) {
    const evaluation = evaluationFrom((key) => view.get(key));
    if (evaluation !== undefined) found.push(evaluation);
  }
  return found.length > 0 ? found : undefined;
}

function evaluationFrom(read: (key: string) => unknown): JsonObject | undefined {
  const evaluation: JsonObject = {};
  for (const [name, key] of EVALUATION_KEYS) {
    const value = read(key);
    const fits =
      name === 'score_value'
        ? typeof value === 'number' && Number.isFinite(value)
        : typeof value === 'string' && value.length > 0;
    if (fits) setIfPresent(evaluation, name, value);
  }
  for (const _name in evaluation) return evaluation;
  return undefined;
}

/**
 * The value as stored, or undefined when there is none (undefined, null, ''). Each caller stores it
 * under its own literal key: a store whose key varies with the caller would be a megamorphic keyed
 * store, the slowest part of this function.
 */
function presentValue(value: unknown): JsonValue | undefined {
  return value === undefined || value === null || value === '' ? undefined : boundedValue(value);
}

function setIfPresent(out: JsonObject, key: string, value: unknown): void {
  const stored = presentValue(value);
  if (stored !== undefined) out[key] = stored;
}

function groupedValues(view: SpanView, prefix: GroupedPrefix): JsonObject | undefined {
  if (view.grouped(prefix).length === 0) return undefined;
  const out: JsonObject = {};
  putGroupedValues(out, view, prefix);
  return out;
}

/** The first MAX_KEYS_PER_GROUP keys under `prefix`, by the rest of their key. */
function putGroupedValues(out: JsonObject, view: SpanView, prefix: GroupedPrefix): void {
  const keys = view.grouped(prefix);
  const count = Math.min(keys.length, MAX_KEYS_PER_GROUP);
  for (let i = 0; i < count; i++) {
    const key = keys[i]!;
    setUserKey(out, bounded(key.slice(prefix.length)), boundedValue(view.get(key)));
  }
}

/** Metadata from the AI SDK, Langfuse and OpenInference (a JSON object in `metadata`), in that order. */
function metadataValues(view: SpanView): JsonObject | undefined {
  if (!view.has(METADATA_GROUPS)) return undefined;
  const metadata = new BoundedGroup();
  for (const prefix of METADATA_PREFIXES) {
    for (const key of view.grouped(prefix)) metadata.put(key.slice(prefix.length), view.get(key));
  }
  const openInference = view.has(OPENINFERENCE_METADATA_GROUP) ? view.json(METADATA) : undefined;
  if (isRecord(openInference)) for (const key in openInference) metadata.put(key, openInference[key]);
  return metadata.count > 0 ? metadata.values : undefined;
}

/** At most MAX_KEYS_PER_GROUP keys, each key and value bounded; a repeated key overwrites. */
class BoundedGroup {
  readonly values: JsonObject = {};
  count = 0;

  put(key: string, value: unknown): void {
    if (this.count >= MAX_KEYS_PER_GROUP) return;
    if (!(key in this.values)) this.count++;
    setUserKey(this.values, bounded(key), boundedValue(value));
  }
}

function addContent(out: JsonObject, key: string, text: string | undefined): void {
  if (text === undefined) return;
  const kept = truncateCodePoints(text, MAX_CONTENT_CHARS);
  out[key] = sanitizeText(kept);
  if (kept.length < text.length) out[`${key}_truncated`] = true;
}

/** Cut to the bound, then made storable (the row fits by construction: nothing sanitises it later). */
function bounded(text: string): string {
  return sanitizeText(truncateCodePoints(text, MAX_ATTRIBUTE_VALUE_CHARS));
}

/** A JSON value no longer than the bounds: long strings cut, long arrays cut, deep objects as cut JSON text. */
function boundedValue(value: unknown): JsonValue {
  if (typeof value === 'string') return bounded(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value;
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) {
    return value
      .slice(0, MAX_KEYS_PER_GROUP)
      .map((item: unknown) =>
        typeof item === 'object' && item !== null ? boundedJsonText(item) : boundedValue(item),
      );
  }
  return boundedJsonText(value);
}

function boundedJsonText(value: unknown): JsonValue {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? null : bounded(text);
  } catch {
    return null;
  }
}

function spanKindName(kind: SpanKind): string | undefined {
  switch (kind) {
    case SpanKind.INTERNAL:
      return 'internal';
    case SpanKind.SERVER:
      return 'server';
    case SpanKind.CLIENT:
      return 'client';
    case SpanKind.PRODUCER:
      return 'producer';
    case SpanKind.CONSUMER:
      return 'consumer';
    default:
      return undefined;
  }
}
