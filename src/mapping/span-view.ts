/**
 * What every part of the mapping reads: the span's attributes, indexed in one
 * pass over their keys, and each JSON attribute parsed at most once.
 *
 * The pass also notes which conventions the span's keys belong to, so that a
 * part reads a convention's attributes only when the span has some: most
 * lookups would otherwise miss (a span carries one or two conventions of the
 * eight the mapping knows, and a miss costs as much as a hit).
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';

/** Past this many UTF-16 units a JSON attribute is not parsed: its parts are left unmeasured. */
export const MAX_JSON_ATTRIBUTE_LENGTH = 64 * 1024 * 1024;

/**
 * Groups of keys by prefix, one bit each. Which group a key is in only
 * decides what can be skipped, never what is read: a key's own group is
 * present whenever the key is.
 */
export const KeyGroup = {
  /** Keys under none of the prefixes below (`session.id`, `user.id`, `error.type`): always read. */
  unprefixed: 1 << 0,
  genAi: 1 << 1,
  genAiUsage: 1 << 2,
  /** `llm.*`: OpenInference, and the older OpenLLMetry's `llm.request.type`. */
  llm: 1 << 3,
  /** `llm.token_count.*` (OpenInference) and `llm.usage.*` (OpenLLMetry). */
  llmUsage: 1 << 4,
  aiSdk: 1 << 5,
  aiSdkUsage: 1 << 6,
  traceloop: 1 << 7,
  langfuse: 1 << 8,
  /** OpenInference's unprefixed names: `openinference.*`, `input.*`, `output.*`, `embedding.*`, `tool.*`, `metadata`. */
  openInference: 1 << 9,
  llamonitor: 1 << 10,
} as const;

/** The group of a key, from its prefix. */
export function keyGroupOf(key: string): number {
  switch (key.charCodeAt(0)) {
    case 0x67 /* g */:
      if (key.startsWith('gen_ai.'))
        return key.startsWith('usage.', 7) ? KeyGroup.genAiUsage : KeyGroup.genAi;
      break;
    case 0x6c /* l */:
      if (key.startsWith('llm.')) {
        return key.startsWith('token_count.', 4) || key.startsWith('usage.', 4)
          ? KeyGroup.llmUsage
          : KeyGroup.llm;
      }
      if (key.startsWith('langfuse.')) return KeyGroup.langfuse;
      if (key.startsWith('llamonitor.')) return KeyGroup.llamonitor;
      break;
    case 0x61 /* a */:
      if (key.startsWith('ai.')) return key.startsWith('usage.', 3) ? KeyGroup.aiSdkUsage : KeyGroup.aiSdk;
      break;
    case 0x74 /* t */:
      if (key.startsWith('traceloop.')) return KeyGroup.traceloop;
      if (key.startsWith('tool.')) return KeyGroup.openInference;
      break;
    case 0x6f /* o */:
      if (key.startsWith('openinference.') || key.startsWith('output.')) return KeyGroup.openInference;
      break;
    case 0x69 /* i */:
      if (key.startsWith('input.')) return KeyGroup.openInference;
      break;
    case 0x65 /* e */:
      if (key.startsWith('embedding.')) return KeyGroup.openInference;
      break;
    case 0x6d /* m */:
      if (key === 'metadata') return KeyGroup.openInference;
      break;
  }
  return KeyGroup.unprefixed;
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
  /** The key groups (KeyGroup bits) the span has keys in; `unprefixed` always. */
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

/** Groups whose keys all start with one of LLM_CONVENTION_PREFIXES: no prefix need be tried. */
const LLM_GROUPS =
  KeyGroup.genAi |
  KeyGroup.genAiUsage |
  KeyGroup.llm |
  KeyGroup.llmUsage |
  KeyGroup.aiSdk |
  KeyGroup.aiSdkUsage |
  KeyGroup.llamonitor;

/** The grouped prefixes by the key group their keys are in: a key is tried against its own group's only. */
const GROUPED_PREFIXES_BY_GROUP = new Map<number, GroupedPrefix[]>();
for (const prefix of GROUPED_PREFIXES) {
  const group = keyGroupOf(prefix);
  GROUPED_PREFIXES_BY_GROUP.set(group, [...(GROUPED_PREFIXES_BY_GROUP.get(group) ?? []), prefix]);
}

const NO_KEYS: readonly string[] = [];

export function indexKeys(attributes: Attributes): KeyIndex {
  let groups: number = KeyGroup.unprefixed;
  let hasLlmConvention = false;
  // Lists are made on their first key: most spans have none of most of them.
  let openInferenceInput: string[] | undefined;
  let openInferenceOutput: string[] | undefined;
  let openInferenceEmbeddingTexts: string[] | undefined;
  let indexedPrompts: string[] | undefined;
  let indexedCompletions: string[] | undefined;
  let prefixed: Map<string, string[]> | undefined;
  for (const key in attributes) {
    const group = keyGroupOf(key);
    groups |= group;
    if (group === KeyGroup.unprefixed) continue;
    if (!hasLlmConvention) {
      hasLlmConvention = (group & LLM_GROUPS) !== 0 || startsWithAny(key, LLM_CONVENTION_PREFIXES);
    }
    switch (group) {
      case KeyGroup.llm:
        if (key.startsWith('llm.input_messages.')) (openInferenceInput ??= []).push(key);
        else if (key.startsWith('llm.output_messages.')) (openInferenceOutput ??= []).push(key);
        break;
      case KeyGroup.genAi:
        if (key.startsWith('gen_ai.prompt.') && isIndexed(key, 14)) (indexedPrompts ??= []).push(key);
        else if (key.startsWith('gen_ai.completion.') && isIndexed(key, 18))
          (indexedCompletions ??= []).push(key);
        break;
      case KeyGroup.openInference:
        if (key.startsWith('embedding.embeddings.') && key.endsWith('.embedding.text')) {
          (openInferenceEmbeddingTexts ??= []).push(key);
        }
        break;
      case KeyGroup.traceloop:
      case KeyGroup.aiSdk:
      case KeyGroup.langfuse:
      case KeyGroup.llamonitor: {
        const prefix = groupedPrefixOf(key, GROUPED_PREFIXES_BY_GROUP.get(group) ?? []);
        if (prefix === undefined) break;
        prefixed ??= new Map();
        const keys = prefixed.get(prefix);
        if (keys) keys.push(key);
        else prefixed.set(prefix, [key]);
        break;
      }
    }
  }
  return {
    groups,
    openInferenceInput: openInferenceInput ?? NO_KEYS,
    openInferenceOutput: openInferenceOutput ?? NO_KEYS,
    openInferenceEmbeddingTexts: openInferenceEmbeddingTexts ?? NO_KEYS,
    indexedPrompts: indexedPrompts ?? NO_KEYS,
    indexedCompletions: indexedCompletions ?? NO_KEYS,
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

/** The one of `prefixes` that `key` has, when the rest of the key is not empty. */
function groupedPrefixOf(key: string, prefixes: readonly GroupedPrefix[]): GroupedPrefix | undefined {
  for (const prefix of prefixes) if (key.startsWith(prefix) && key.length > prefix.length) return prefix;
  return undefined;
}

const NOT_PARSED = Symbol('not parsed');

export class SpanView {
  readonly keys: KeyIndex;
  private parsed: Map<string, unknown> | undefined;

  constructor(
    readonly name: string,
    readonly attributes: Attributes,
    readonly resourceAttributes: Attributes,
  ) {
    this.keys = indexKeys(attributes);
  }

  /** True when the span has a key in one of `groups` (KeyGroup bits). */
  has(groups: number): boolean {
    return (this.keys.groups & groups) !== 0;
  }

  get(key: string): AttributeValue | undefined {
    return this.attributes[key];
  }

  /** The attribute as a string, when it is one and is not empty. */
  string(key: string): string | undefined {
    const value = this.attributes[key];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  }

  /** The attribute as a finite number (a numeric string counts), else undefined. */
  number(key: string): number | undefined {
    return finiteNumber(this.attributes[key]);
  }

  /** The attribute parsed as JSON, once per span; undefined when absent, too large or not JSON. */
  json(key: string): unknown {
    this.parsed ??= new Map();
    const cached = this.parsed.get(key);
    if (cached !== undefined) return cached === NOT_PARSED ? undefined : cached;
    const value = parseJsonAttribute(this.attributes[key]);
    this.parsed.set(key, value === undefined ? NOT_PARSED : value);
    return value;
  }

  /** Keys grouped under a prefix, in span order. */
  grouped(prefix: GroupedPrefix): readonly string[] {
    return this.keys.prefixed?.get(prefix) ?? NO_KEYS;
  }
}

/** A JSON attribute's value: parsed when it is a string holding an object or array, else undefined. */
export function parseJsonAttribute(value: AttributeValue | undefined): unknown {
  if (typeof value !== 'string' || value.length > MAX_JSON_ATTRIBUTE_LENGTH) return undefined;
  const first = firstNonSpace(value);
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */ && first !== 0x22 /* " */) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

/** The first code unit that is not JSON whitespace, among the first 64; -1 when there is none. */
function firstNonSpace(value: string): number {
  for (let i = 0; i < value.length && i < 64; i++) {
    const unit = value.charCodeAt(i);
    if (unit !== 0x20 && unit !== 0x0a && unit !== 0x0d && unit !== 0x09) return unit;
  }
  return -1;
}

export function finiteNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.length > 0 && value.length < 32) {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
