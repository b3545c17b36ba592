/**
 * The one pass over a span's attribute keys: which key groups (conventions,
 * by prefix) the span has, and the keys of the families the mapping lists
 * (indexed messages, usage counts, user-keyed prefixes).
 *
 * A part reads a convention's attributes only when the span has keys of it:
 * most lookups would otherwise miss (a span carries one or two of the
 * conventions the mapping knows, and a miss costs as much as a hit).
 */
import type { Attributes } from '@opentelemetry/api';

/**
 * Groups of keys by prefix, one bit each. Which group a key is in only
 * decides what can be skipped, never what is read: a key's own group is
 * present whenever the key is. Groups are fine where a convention's keys are
 * often absent from spans that have others of its keys (a chat span has
 * `gen_ai.*` keys, but seldom `gen_ai.tool.*` ones).
 */
export const KeyGroup = {
  /** Keys under none of the prefixes below (`error.type`, `http.*`): most LLM spans have none. */
  unprefixed: 1 << 0,
  genAi: 1 << 1,
  genAiUsage: 1 << 2,
  /** `gen_ai.input.*`, `gen_ai.output.*`, `gen_ai.system_instructions`. */
  genAiMessages: 1 << 3,
  genAiTool: 1 << 4,
  genAiResponse: 1 << 5,
  /** `gen_ai.conversation.*`, `gen_ai.agent.*`. */
  genAiContext: 1 << 6,
  /** `llm.*`: OpenInference, and the older OpenLLMetry's `llm.request.type`. */
  llm: 1 << 7,
  /** `llm.token_count.*` (OpenInference) and `llm.usage.*` (OpenLLMetry). */
  llmUsage: 1 << 8,
  aiSdk: 1 << 9,
  aiSdkUsage: 1 << 10,
  /** `ai.prompt`, `ai.prompt.*`. */
  aiSdkPrompt: 1 << 11,
  aiSdkResponse: 1 << 12,
  aiSdkToolCall: 1 << 13,
  traceloop: 1 << 14,
  langfuse: 1 << 15,
  /** OpenInference's unprefixed names: `openinference.*`, `input.*`, `output.*`, `embedding.*`, `tool.*`, `metadata`. */
  openInference: 1 << 16,
  llamonitor: 1 << 17,
  session: 1 << 18,
  user: 1 << 19,
  /** A charge the span reports: `gen_ai.usage.cost`, `llm.cost.*`, `langfuse.observation.cost_details`. */
  cost: 1 << 20,
  /** A stream's timings: `gen_ai.response.time_to_first_chunk`, `gen_ai.client.operation.*`, `ai.response.msTo*`, `ai.stream.*`. */
  streamTiming: 1 << 21,
  /** A call's settings: `gen_ai.request.{temperature,max_tokens,top_p,stream}`, `ai.settings.*` (not `.context.`), `ai.prompt.toolChoice`. */
  requestSettings: 1 << 22,
  /** `gen_ai.evaluation.*`, `gen_ai.prompt.name`: evaluation results and prompt names, on few spans. */
  genAiEvaluation: 1 << 23,
} as const;

/** Every group: what a reader must assume of a span whose keys were not indexed. */
export const ALL_KEY_GROUPS: number = Object.values(KeyGroup).reduce((all, group) => all | group, 0);

/** Prefixes and their groups, the more specific first: a key is in the group of the first prefix it has. */
const GROUP_PREFIXES: readonly (readonly [prefix: string, group: number])[] = [
  ['gen_ai.usage.cost', KeyGroup.cost],
  ['llm.cost.', KeyGroup.cost],
  ['langfuse.observation.cost_details', KeyGroup.cost],
  ['gen_ai.usage.', KeyGroup.genAiUsage],
  ['gen_ai.request.temperature', KeyGroup.requestSettings],
  ['gen_ai.request.max_tokens', KeyGroup.requestSettings],
  ['gen_ai.request.top_p', KeyGroup.requestSettings],
  ['gen_ai.request.stream', KeyGroup.requestSettings],
  ['ai.settings.context.', KeyGroup.aiSdk],
  ['ai.settings.', KeyGroup.requestSettings],
  ['ai.prompt.toolChoice', KeyGroup.requestSettings],
  ['gen_ai.evaluation.', KeyGroup.genAiEvaluation],
  ['gen_ai.prompt.name', KeyGroup.genAiEvaluation],
  ['gen_ai.response.time_to_first_chunk', KeyGroup.streamTiming],
  ['gen_ai.client.operation.', KeyGroup.streamTiming],
  ['ai.response.msTo', KeyGroup.streamTiming],
  ['ai.response.avgOutputTokensPerSecond', KeyGroup.streamTiming],
  ['ai.stream.', KeyGroup.streamTiming],
  ['gen_ai.input.', KeyGroup.genAiMessages],
  ['gen_ai.output.', KeyGroup.genAiMessages],
  ['gen_ai.system_instructions', KeyGroup.genAiMessages],
  ['gen_ai.tool.', KeyGroup.genAiTool],
  ['gen_ai.response.', KeyGroup.genAiResponse],
  ['gen_ai.conversation.', KeyGroup.genAiContext],
  ['gen_ai.agent.', KeyGroup.genAiContext],
  ['gen_ai.', KeyGroup.genAi],
  ['llm.token_count.', KeyGroup.llmUsage],
  ['llm.usage.', KeyGroup.llmUsage],
  ['llm.', KeyGroup.llm],
  ['ai.usage.', KeyGroup.aiSdkUsage],
  ['ai.prompt', KeyGroup.aiSdkPrompt],
  ['ai.response.', KeyGroup.aiSdkResponse],
  ['ai.toolCall.', KeyGroup.aiSdkToolCall],
  ['ai.', KeyGroup.aiSdk],
  ['traceloop.', KeyGroup.traceloop],
  ['langfuse.', KeyGroup.langfuse],
  ['llamonitor.', KeyGroup.llamonitor],
  ['openinference.', KeyGroup.openInference],
  ['input.', KeyGroup.openInference],
  ['output.', KeyGroup.openInference],
  ['embedding.', KeyGroup.openInference],
  ['tool.', KeyGroup.openInference],
  ['metadata', KeyGroup.openInference],
  ['session.', KeyGroup.session],
  ['user.', KeyGroup.user],
];

/** The group of a key, from its prefix. */
export function keyGroupOf(key: string): number {
  return classOf(key).group;
}

function groupOfPrefix(key: string): number {
  for (const [prefix, group] of GROUP_PREFIXES) if (key.startsWith(prefix)) return group;
  return KeyGroup.unprefixed;
}

/** The groups of all `keys`, for a part that reads them: it can be skipped when the span has none. */
export function keyGroupsOf(...keys: readonly string[]): number {
  let groups = 0;
  for (const key of keys) groups |= keyGroupOf(key);
  return groups;
}

/** An attribute key with its group, worked out once where the key is declared. */
export interface GroupedKey {
  readonly key: string;
  readonly group: number;
}

export function groupedKeys(keys: readonly string[]): readonly GroupedKey[] {
  return keys.map((key) => ({ key, group: keyGroupOf(key) }));
}

/** Attribute keys grouped by the prefixes the mapping reads, in the order the span holds them. */
export interface KeyIndex {
  /** The key groups (KeyGroup bits) the span has keys in. */
  readonly groups: number;
  /** `llm.input_messages.*` (OpenInference). */
  readonly openInferenceInput: readonly string[];
  /** `llm.output_messages.*` (OpenInference). */
  readonly openInferenceOutput: readonly string[];
  /** `embedding.embeddings.N.embedding.text` (OpenInference). */
  readonly openInferenceEmbeddingTexts: readonly string[];
  /** `gen_ai.prompt.N.*` (OpenLLMetry's older indexed form). */
  readonly indexedPrompts: readonly string[];
  /** `gen_ai.completion.N.*` (OpenLLMetry's older indexed form). */
  readonly indexedCompletions: readonly string[];
  /** Keys in the usage groups: `gen_ai.usage.*`, `llm.token_count.*`, `llm.usage.*`, `ai.usage.*`. */
  readonly usageKeys: readonly string[];
  /** Keys with a prefix whose rest is a user's key: association properties, metadata, context. */
  readonly prefixed: ReadonlyMap<string, readonly string[]> | undefined;
  /** The span carries at least one key of an LLM convention. */
  readonly hasLlmConvention: boolean;
}

/** Prefixes whose keys are collected as a group (the rest of the key is the user's). */
export const GROUPED_PREFIXES = [
  'traceloop.association.properties.',
  'ai.telemetry.metadata.',
  'ai.settings.context.',
  'langfuse.trace.metadata.',
  'langfuse.observation.metadata.',
  'llamonitor.text.',
  'llamonitor.image.',
  'llamonitor.attr.',
] as const;
export type GroupedPrefix = (typeof GROUPED_PREFIXES)[number];

/** Key prefixes whose presence marks a span as carrying an LLM convention (the `llm` filter). */
const LLM_CONVENTION_PREFIXES = [
  'gen_ai.',
  'llm.',
  'ai.',
  'openinference.',
  'traceloop.span.kind',
  'traceloop.entity.',
  'traceloop.workflow.',
  'langfuse.observation.',
  'llamonitor.',
];

const USAGE_GROUPS = KeyGroup.genAiUsage | KeyGroup.llmUsage | KeyGroup.aiSdkUsage;

/** The lists of the index a key can join. */
type KeyList =
  | 'openInferenceInput'
  | 'openInferenceOutput'
  | 'openInferenceEmbeddingTexts'
  | 'indexedPrompts'
  | 'indexedCompletions'
  | 'usageKeys';

/** What the key pass needs to know of a key. */
interface KeyClass {
  readonly group: number;
  readonly marksLlmConvention: boolean;
  readonly list: KeyList | undefined;
  readonly groupedPrefix: GroupedPrefix | undefined;
}

function classify(key: string): KeyClass {
  const group = groupOfPrefix(key);
  return {
    group,
    marksLlmConvention: startsWithAny(key, LLM_CONVENTION_PREFIXES),
    list: listOf(key, group),
    groupedPrefix: groupedPrefixOf(key),
  };
}

function listOf(key: string, group: number): KeyList | undefined {
  if ((group & USAGE_GROUPS) !== 0) return 'usageKeys';
  if (group === KeyGroup.llm) {
    if (key.startsWith('llm.input_messages.')) return 'openInferenceInput';
    if (key.startsWith('llm.output_messages.')) return 'openInferenceOutput';
  } else if (group === KeyGroup.genAi) {
    if (key.startsWith('gen_ai.prompt.') && isIndexed(key, 14)) return 'indexedPrompts';
    if (key.startsWith('gen_ai.completion.') && isIndexed(key, 18)) return 'indexedCompletions';
  } else if (group === KeyGroup.openInference) {
    if (key.startsWith('embedding.embeddings.') && key.endsWith('.embedding.text')) {
      return 'openInferenceEmbeddingTexts';
    }
  }
  return undefined;
}

/**
 * Keys classified so far. Spans of one instrumentation repeat the same keys,
 * so a key is classified once and looked up after. Keys made up per span (a
 * user's own names, ever longer message lists) would grow it without end: it
 * starts over when full, and the keys in use come back at once.
 */
const classified = new Map<string, KeyClass>();
const MAX_CLASSIFIED_KEYS = 4096;

function classOf(key: string): KeyClass {
  let keyClass = classified.get(key);
  if (keyClass === undefined) {
    keyClass = classify(key);
    if (classified.size >= MAX_CLASSIFIED_KEYS) classified.clear();
    classified.set(key, keyClass);
  }
  return keyClass;
}

const NO_KEYS: readonly string[] = [];

/**
 * The index of a span whose keys cannot be listed (a hostile attributes
 * object): any group may be present, so every attribute is read by its key;
 * nothing is listed; and the span counts as carrying no LLM convention.
 */
export const UNINDEXED: KeyIndex = {
  groups: ALL_KEY_GROUPS,
  openInferenceInput: NO_KEYS,
  openInferenceOutput: NO_KEYS,
  openInferenceEmbeddingTexts: NO_KEYS,
  indexedPrompts: NO_KEYS,
  indexedCompletions: NO_KEYS,
  usageKeys: NO_KEYS,
  prefixed: undefined,
  hasLlmConvention: false,
};

export function indexKeys(attributes: Attributes): KeyIndex {
  let groups = 0;
  let hasLlmConvention = false;
  // Lists are made on their first key: most spans have none of most of them.
  let openInferenceInput: string[] | undefined;
  let openInferenceOutput: string[] | undefined;
  let openInferenceEmbeddingTexts: string[] | undefined;
  let indexedPrompts: string[] | undefined;
  let indexedCompletions: string[] | undefined;
  let usageKeys: string[] | undefined;
  let prefixed: Map<string, string[]> | undefined;
  for (const key in attributes) {
    const { group, marksLlmConvention, list, groupedPrefix } = classOf(key);
    groups |= group;
    if (marksLlmConvention) hasLlmConvention = true;
    switch (list) {
      case undefined:
        break;
      case 'openInferenceInput':
        (openInferenceInput ??= []).push(key);
        break;
      case 'openInferenceOutput':
        (openInferenceOutput ??= []).push(key);
        break;
      case 'openInferenceEmbeddingTexts':
        (openInferenceEmbeddingTexts ??= []).push(key);
        break;
      case 'indexedPrompts':
        (indexedPrompts ??= []).push(key);
        break;
      case 'indexedCompletions':
        (indexedCompletions ??= []).push(key);
        break;
      case 'usageKeys':
        (usageKeys ??= []).push(key);
        break;
    }
    if (groupedPrefix !== undefined) {
      prefixed ??= new Map();
      const keys = prefixed.get(groupedPrefix);
      if (keys) keys.push(key);
      else prefixed.set(groupedPrefix, [key]);
    }
  }
  return {
    groups,
    openInferenceInput: openInferenceInput ?? NO_KEYS,
    openInferenceOutput: openInferenceOutput ?? NO_KEYS,
    openInferenceEmbeddingTexts: openInferenceEmbeddingTexts ?? NO_KEYS,
    indexedPrompts: indexedPrompts ?? NO_KEYS,
    indexedCompletions: indexedCompletions ?? NO_KEYS,
    usageKeys: usageKeys ?? NO_KEYS,
    prefixed,
    hasLlmConvention,
  };
}

function startsWithAny(key: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (key.startsWith(prefix)) return true;
  return false;
}

function isIndexed(key: string, from: number): boolean {
  const unit = key.charCodeAt(from);
  return unit >= 0x30 && unit <= 0x39;
}

/** The grouped prefix `key` has, when the rest of the key is not empty. */
function groupedPrefixOf(key: string): GroupedPrefix | undefined {
  for (const prefix of GROUPED_PREFIXES)
    if (key.startsWith(prefix) && key.length > prefix.length) return prefix;
  return undefined;
}
