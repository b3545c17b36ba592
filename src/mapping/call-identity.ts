/**
 * Which model and which provider a span's call was for: the `model` and
 * `provider` columns (schema 1.1), and the request and response models that
 * custom_attributes keeps.
 *
 * Where the conventions put them (each checked on the spans of
 * test/fixtures/captured and in the instrumentations' source):
 * - the request model: `gen_ai.request.model`; OpenInference's
 *   `llm.invocation_parameters` (`model`, the request body less its
 *   messages) and `embedding.model_name` (set from the request body, never
 *   from the response); the AI SDK's `ai.model.id`; Langfuse's
 *   `langfuse.observation.model.name`.
 * - the response model: `gen_ai.response.model`, the AI SDK's
 *   `ai.response.model`. OpenInference's `llm.model_name` is first the
 *   request's model, overwritten with the response's when a whole response
 *   comes back, but not for a stream or a failed call
 *   (@arizeai/openinference-instrumentation-openai 4.2.7, likewise
 *   -anthropic 0.1.21: src/instrumentation.ts).
 */
import { fitString } from '../schema/fit-row.js';
import { AI_MODEL_ID, AI_MODEL_PROVIDER, AI_RESPONSE_MODEL } from './conventions/ai-sdk.js';
import { LANGFUSE_OBSERVATION_MODEL } from './conventions/langfuse.js';
import {
  EMBEDDING_MODEL_NAME,
  LLM_INVOCATION_PARAMETERS,
  LLM_MODEL_NAME,
  LLM_PROVIDER,
  LLM_SYSTEM,
} from './conventions/openinference.js';
import {
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_SYSTEM,
} from './genai-names.js';
import { groupedKeys, keyGroupOf, type GroupedKey } from './key-index.js';
import { isRecord, prefixOf, type SpanView } from './span-view.js';

export interface CallModels {
  /** The model the application asked for. */
  readonly request: string | undefined;
  /** The model the response named (often a dated snapshot, gpt-4o-mini-2024-07-18). */
  readonly response: string | undefined;
}

const REQUEST_MODEL_GROUP = keyGroupOf(ATTR_GEN_AI_REQUEST_MODEL);
const INVOCATION_PARAMETERS_GROUP = keyGroupOf(LLM_INVOCATION_PARAMETERS);
const LLM_MODEL_NAME_GROUP = keyGroupOf(LLM_MODEL_NAME);
/** Request models after `gen_ai.request.model` and `llm.invocation_parameters`, in this order. */
const OTHER_REQUEST_MODEL_SOURCES = groupedKeys([
  EMBEDDING_MODEL_NAME,
  AI_MODEL_ID,
  LANGFUSE_OBSERVATION_MODEL,
]);
const RESPONSE_MODEL_SOURCES = groupedKeys([ATTR_GEN_AI_RESPONSE_MODEL, AI_RESPONSE_MODEL]);
/** Where a span names its provider, first present wins (custom_attributes keeps that raw value). */
export const PROVIDER_SOURCES = groupedKeys([
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_SYSTEM,
  LLM_PROVIDER,
  LLM_SYSTEM,
  AI_MODEL_PROVIDER,
]);

export function callModels(view: SpanView): CallModels {
  const request = requestModelOf(view);
  const response = firstString(view, RESPONSE_MODEL_SOURCES);
  const openInference = view.has(LLM_MODEL_NAME_GROUP) ? view.string(LLM_MODEL_NAME) : undefined;
  if (openInference === undefined || openInference === request) return { request, response };
  // llm.model_name starts as the request's model: one that differs from it is the response's.
  if (request !== undefined) return { request, response: response ?? openInference };
  // Nothing to tell it by: most OpenInference instrumentations set it from the request alone.
  return { request: openInference, response };
}

/** The `model` column: the request model, else the response model, so that a model's failed and successful calls group together. */
export function modelColumn(models: CallModels): string | undefined {
  return models.request ?? models.response;
}

/** The provider as the GenAI conventions' well-known `gen_ai.provider.name` value; an unknown provider keeps its own lower-case name; undefined when the span names none. */
export function providerName(view: SpanView): string | undefined {
  for (const { key, group } of PROVIDER_SOURCES) {
    if (!view.has(group)) continue;
    const raw = view.get(key);
    const name = typeof raw === 'string' ? normaliseProvider(raw) : undefined;
    if (name !== undefined) return name;
  }
  return undefined;
}

/** Same normalisation on one raw value (exported for tests and for the metrics feature later). */
export function normaliseProvider(raw: string): string | undefined {
  const read = raw.length > MAX_PROVIDER_READ ? prefixOf(raw, MAX_PROVIDER_READ) : raw;
  const name = withoutModelType(read.trim().toLowerCase());
  if (name.length === 0) return undefined;
  return WELL_KNOWN_PROVIDERS.get(name) ?? fitString(name, MAX_PROVIDER_CHARS);
}

/** `gen_ai.request.model`, else the `model` of `llm.invocation_parameters` (JSON), else the other request models. */
function requestModelOf(view: SpanView): string | undefined {
  const genAi = view.has(REQUEST_MODEL_GROUP) ? view.string(ATTR_GEN_AI_REQUEST_MODEL) : undefined;
  if (genAi !== undefined) return genAi;
  const parameters = view.has(INVOCATION_PARAMETERS_GROUP) ? view.json(LLM_INVOCATION_PARAMETERS) : undefined;
  const model = isRecord(parameters) ? parameters['model'] : undefined;
  if (typeof model === 'string' && model.length > 0) return model;
  return firstString(view, OTHER_REQUEST_MODEL_SOURCES);
}

function firstString(view: SpanView, keys: readonly GroupedKey[]): string | undefined {
  for (const { key, group } of keys) {
    const value = view.has(group) ? view.string(key) : undefined;
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The width of the `provider` column, VARCHAR(100), in code points. */
const MAX_PROVIDER_CHARS = 100;
/** Code units of a raw value read at most: room for the longest name kept and the spaces around it. */
const MAX_PROVIDER_READ = 4 * MAX_PROVIDER_CHARS;

/**
 * The model types the AI SDK appends to a provider's name in
 * `ai.model.provider` (`openai.chat`, `cohere.textEmbedding`): the name is
 * the part before. From the providers' `provider:` strings (vercel/ai
 * packages/<provider>/src, ai 4 to 7).
 */
const AI_SDK_MODEL_TYPES = new Set([
  'chat',
  'completion',
  'responses',
  'messages',
  'embedding',
  'embeddings',
  'textembedding',
  'image',
  'speech',
  'transcription',
  'video',
  'reranking',
  'realtime',
  'interactions',
]);

function withoutModelType(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && AI_SDK_MODEL_TYPES.has(name.slice(dot + 1)) ? name.slice(0, dot) : name;
}

/**
 * The GenAI conventions' well-known `gen_ai.provider.name` values (semantic
 * conventions v1.41.0, docs/registry/attributes/gen-ai.md, as
 * @opentelemetry/semantic-conventions 1.45.0 GEN_AI_PROVIDER_NAME_VALUE_*),
 * each with the names instrumentations give the same provider: lower-case,
 * the AI SDK's model type removed.
 */
const WELL_KNOWN_PROVIDERS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    openai: [],
    anthropic: [],
    'azure.ai.openai': [
      'az.ai.openai', // deprecated gen_ai.system value (semantic-conventions 1.45.0 GEN_AI_SYSTEM_VALUE_*)
      'azure', // OpenLLMetry 0.22 gen_ai.system; OpenInference llm.provider; AI SDK `azure.chat`, `azure.responses`
      'azure openai', // OpenLLMetry 0.11 gen_ai.system (instrumentation-azure)
      'azure-openai', // earlier @ai-sdk/azure: `azure-openai.chat`
      'azure.deepseek', // @ai-sdk/azure: a DeepSeek deployment on the same Azure OpenAI resource
    ],
    'azure.ai.inference': ['az.ai.inference'], // deprecated gen_ai.system value
    'aws.bedrock': [
      'aws', // OpenLLMetry 0.22 gen_ai.system (instrumentation-bedrock); OpenInference llm.provider (amazonaws.com)
      'amazon', // OpenInference llm.system (Amazon's own models, served by Bedrock)
      'amazon-bedrock', // @ai-sdk/amazon-bedrock
      'bedrock-mantle', // @ai-sdk/amazon-bedrock: `bedrock-mantle.chat`, `bedrock-mantle.responses`
      'bedrock.anthropic', // @ai-sdk/amazon-bedrock: `bedrock.anthropic.messages`
    ],
    'gcp.gemini': [
      'gemini', // deprecated gen_ai.system value
      'google.generative-ai', // @ai-sdk/google
    ],
    'gcp.vertex_ai': [
      'vertex_ai', // deprecated gen_ai.system value
      'vertexai', // OpenInference llm.system; OpenLLMetry 0.11 gen_ai.system `VertexAI`
      'google.vertex', // @ai-sdk/google-vertex: `google.vertex.chat`
      'googlevertex.anthropic', // @ai-sdk/google-vertex: `googleVertex.anthropic.messages`
      'vertex.maas', // @ai-sdk/google-vertex MaaS: `vertex.maas.chat`
    ],
    // Any Google endpoint: OpenLLMetry 0.22 gen_ai.system `Google`, OpenInference llm.provider `google`.
    'gcp.gen_ai': ['google'],
    mistral_ai: [
      'mistralai', // OpenInference llm.system and llm.provider
      'mistral', // @ai-sdk/mistral: `mistral.chat`
    ],
    cohere: [],
    deepseek: [],
    groq: [],
    perplexity: [],
    x_ai: ['xai'], // deprecated gen_ai.system value; OpenInference llm.provider; @ai-sdk/xai `xai.chat`
    'ibm.watsonx.ai': ['watsonx'], // OpenLLMetry (Python) gen_ai.system
  }).flatMap(([wellKnown, names]) => [wellKnown, ...names].map((name) => [name, wellKnown] as const)),
);
