/**
 * operation_type, normalised to one vocabulary from whichever convention names
 * the span's kind, and whether the span wraps model calls (its usage repeats
 * theirs). Both read only the name and attributes present at span start, so
 * the span processor can ask them when a span begins.
 */
import type { Attributes } from '@opentelemetry/api';
import { AI_MODEL_ID, AI_OPERATION_ID } from './conventions/ai-sdk.js';
import { LANGFUSE_OBSERVATION_MODEL, LANGFUSE_OBSERVATION_TYPE } from './conventions/langfuse.js';
import {
  EMBEDDING_MODEL_NAME,
  LLM_MODEL_NAME,
  OPENINFERENCE_SPAN_KIND,
} from './conventions/openinference.js';
import { LLM_REQUEST_TYPE, TRACELOOP_SPAN_KIND } from './conventions/openllmetry.js';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
} from './genai-names.js';
import { ALL_KEY_GROUPS, groupedKeys, keyGroupOf } from './key-index.js';
import type { SpanView } from './span-view.js';

import { OPERATION_TYPES, type OperationType } from '../schema/columns.js';

export { OPERATION_TYPES, type OperationType };

type Vocabulary = Readonly<Record<string, OperationType>>;

/** @arizeai/openinference-semantic-conventions 2.12.0, OpenInferenceSpanKind. */
const OPENINFERENCE_KINDS: Vocabulary = {
  LLM: 'llm_call',
  EMBEDDING: 'embedding',
  TOOL: 'tool_call',
  AGENT: 'agent',
  CHAIN: 'workflow',
  RETRIEVER: 'retrieval',
  RERANKER: 'rerank',
  GUARDRAIL: 'guardrail',
  EVALUATOR: 'evaluation',
  PROMPT: 'other',
};

/** Semantic conventions' gen_ai.operation.name values, OpenLLMetry's image operations, the AI SDK 7's agent_step. */
const GENAI_OPERATIONS: Vocabulary = {
  chat: 'llm_call',
  text_completion: 'llm_call',
  generate_content: 'llm_call',
  completion: 'llm_call',
  embeddings: 'embedding',
  execute_tool: 'tool_call',
  create_agent: 'agent',
  invoke_agent: 'agent',
  agent_step: 'agent',
  invoke_workflow: 'workflow',
  retrieval: 'retrieval',
  rerank: 'rerank',
  image_generation: 'image_generation',
  image_edit: 'image_generation',
  image_variation: 'image_generation',
};

/** @traceloop/ai-semantic-conventions 0.27.0, TraceloopSpanKindValues (a task is a step of a workflow). */
const TRACELOOP_KINDS: Vocabulary = {
  workflow: 'workflow',
  task: 'workflow',
  agent: 'agent',
  tool: 'tool_call',
};

/** OpenLLMetry's older `llm.request.type` (LLMRequestTypeValues, plus embedding). */
const LLM_REQUEST_TYPES: Vocabulary = {
  chat: 'llm_call',
  completion: 'llm_call',
  embedding: 'embedding',
  rerank: 'rerank',
};

/**
 * AI SDK 4 to 6 operation ids. The outer spans wrap the model calls: the AI
 * SDK 7 names the same span `invoke_agent`, so they are agents here too.
 */
const AI_SDK_OPERATIONS: Vocabulary = {
  'ai.generateText': 'agent',
  'ai.streamText': 'agent',
  'ai.generateObject': 'agent',
  'ai.streamObject': 'agent',
  'ai.generateText.doGenerate': 'llm_call',
  'ai.streamText.doStream': 'llm_call',
  'ai.generateObject.doGenerate': 'llm_call',
  'ai.streamObject.doStream': 'llm_call',
  'ai.embed': 'embedding',
  'ai.embedMany': 'embedding',
  'ai.embed.doEmbed': 'embedding',
  'ai.embedMany.doEmbed': 'embedding',
  'ai.toolCall': 'tool_call',
  'ai.rerank': 'rerank',
  'ai.rerank.doRerank': 'rerank',
  'ai.generateImage': 'image_generation',
  'ai.generateImage.doGenerate': 'image_generation',
};

/** @langfuse/core 5.11.1 observation types. */
const LANGFUSE_TYPES: Vocabulary = {
  generation: 'llm_call',
  embedding: 'embedding',
  tool: 'tool_call',
  agent: 'agent',
  chain: 'workflow',
  retriever: 'retrieval',
  evaluator: 'evaluation',
  guardrail: 'guardrail',
};

interface TypeSource {
  readonly key: string;
  /** The key's KeyGroup: the source is skipped for a span without keys in it. */
  readonly group: number;
  /** A Map, not the object: a value such as `constructor` must not find Object.prototype's. */
  readonly vocabulary: ReadonlyMap<string, OperationType>;
}

const typeSource = (key: string, vocabulary: Vocabulary): TypeSource => ({
  key,
  group: keyGroupOf(key),
  vocabulary: new Map(Object.entries(vocabulary)),
});

const SOURCES: readonly TypeSource[] = [
  typeSource(OPENINFERENCE_SPAN_KIND, OPENINFERENCE_KINDS),
  typeSource(ATTR_GEN_AI_OPERATION_NAME, GENAI_OPERATIONS),
  typeSource(TRACELOOP_SPAN_KIND, TRACELOOP_KINDS),
  typeSource(LLM_REQUEST_TYPE, LLM_REQUEST_TYPES),
  typeSource(AI_OPERATION_ID, AI_SDK_OPERATIONS),
  typeSource(LANGFUSE_OBSERVATION_TYPE, LANGFUSE_TYPES),
];

const MODEL_ATTRIBUTES = groupedKeys([
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  LLM_MODEL_NAME,
  AI_MODEL_ID,
  LANGFUSE_OBSERVATION_MODEL,
]);
const EMBEDDING_MODEL = groupedKeys([EMBEDDING_MODEL_NAME])[0]!;

/**
 * The span's operation type: the first source whose value the vocabulary
 * knows; else `llm_call` when a model is named (`embedding` for an embedding
 * model); else `other`. `name` is accepted for callers at span start and for
 * future name-based rules; today only the attributes decide.
 */
export function operationTypeOf(_name: string, attributes: Attributes): OperationType {
  // At span start nothing is indexed, so nothing is skipped.
  return operationTypeIn(attributes, ALL_KEY_GROUPS);
}

/** operationTypeOf for a finished span's view: reads only the key groups the span has. */
export function operationTypeInView(view: SpanView): OperationType {
  return operationTypeIn(view.attributes, view.keys.groups);
}

function operationTypeIn(attributes: Attributes, groups: number): OperationType {
  for (const { key, group, vocabulary } of SOURCES) {
    if ((groups & group) === 0) continue;
    const value = attributes[key];
    if (typeof value === 'string') {
      const type =
        vocabulary.get(value) ?? vocabulary.get(value.toLowerCase()) ?? vocabulary.get(value.toUpperCase());
      if (type !== undefined) return type;
    }
  }
  for (const { key, group } of MODEL_ATTRIBUTES) {
    if ((groups & group) !== 0 && isPresent(attributes[key])) return 'llm_call';
  }
  if ((groups & EMBEDDING_MODEL.group) !== 0 && isPresent(attributes[EMBEDDING_MODEL.key]))
    return 'embedding';
  return 'other';
}

/** True when the span, by name and attributes at start, is a call to a language model. */
export function isModelCall(name: string, attributes: Attributes): boolean {
  return operationTypeOf(name, attributes) === 'llm_call';
}

/** True when the span, by name and attributes now, calls a model: a chat, a completion or an embedding. */
export function isModelOrEmbeddingCall(name: string, attributes: Attributes): boolean {
  const type = operationTypeOf(name, attributes);
  return type === 'llm_call' || type === 'embedding';
}

const WRAPPER_AI_SDK_OPERATIONS = new Set([
  'ai.generateText',
  'ai.streamText',
  'ai.generateObject',
  'ai.streamObject',
  'ai.embed',
  'ai.embedMany',
]);
const WRAPPER_GENAI_OPERATIONS = new Set(['invoke_agent', 'agent_step', 'create_agent', 'invoke_workflow']);

/**
 * True for a span that wraps model calls and repeats their usage: agents and
 * workflows, the AI SDK's outer spans, `invoke_agent` and `agent_step`. The AI
 * SDK id is checked apart from the type, which another processor may rewrite.
 */
export function isWrapperSpan(type: OperationType, attributes: Attributes): boolean {
  if (type === 'agent' || type === 'workflow') return true;
  const operationId = attributes[AI_OPERATION_ID];
  if (typeof operationId === 'string' && WRAPPER_AI_SDK_OPERATIONS.has(operationId)) return true;
  const operation = attributes[ATTR_GEN_AI_OPERATION_NAME];
  return typeof operation === 'string' && WRAPPER_GENAI_OPERATIONS.has(operation);
}

function isPresent(value: unknown): boolean {
  return (typeof value === 'string' && value.length > 0) || typeof value === 'number';
}
