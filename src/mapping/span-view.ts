/**
 * What every part of the mapping reads: the span's attributes, indexed in one
 * pass over their keys, and each JSON attribute parsed at most once.
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';

/** Past this many UTF-16 units a JSON attribute is not parsed: its parts are left unmeasured. */
export const MAX_JSON_ATTRIBUTE_LENGTH = 64 * 1024 * 1024;

/** Attribute keys grouped by the prefixes the mapping reads, in the order the span holds them. */
export interface KeyIndex {
  /** `llm.input_messages.*` (OpenInference). */
  readonly openInferenceInput: string[];
  /** `llm.output_messages.*` (OpenInference). */
  readonly openInferenceOutput: string[];
  /** `embedding.embeddings.N.embedding.text` (OpenInference). */
  readonly openInferenceEmbeddingTexts: string[];
  /** `gen_ai.prompt.N.*` (OpenLLMetry's older indexed form). */
  readonly indexedPrompts: string[];
  /** `gen_ai.completion.N.*` (OpenLLMetry's older indexed form). */
  readonly indexedCompletions: string[];
  /** Keys with a prefix whose rest is a user's key: association properties, metadata, context. */
  readonly prefixed: Map<string, string[]>;
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

export function indexKeys(attributes: Attributes): KeyIndex {
  const index: KeyIndex & { hasLlmConvention: boolean } = {
    openInferenceInput: [],
    openInferenceOutput: [],
    openInferenceEmbeddingTexts: [],
    indexedPrompts: [],
    indexedCompletions: [],
    prefixed: new Map(),
    hasLlmConvention: false,
  };
  for (const key in attributes) {
    if (!index.hasLlmConvention && LLM_CONVENTION_PREFIXES.some((prefix) => key.startsWith(prefix))) {
      index.hasLlmConvention = true;
    }
    switch (key.charCodeAt(0)) {
      case 0x6c /* l */:
        if (key.startsWith('llm.input_messages.')) index.openInferenceInput.push(key);
        else if (key.startsWith('llm.output_messages.')) index.openInferenceOutput.push(key);
        else groupIfPrefixed(index.prefixed, key);
        break;
      case 0x67 /* g */:
        if (key.startsWith('gen_ai.prompt.') && isIndexed(key, 14)) index.indexedPrompts.push(key);
        else if (key.startsWith('gen_ai.completion.') && isIndexed(key, 18))
          index.indexedCompletions.push(key);
        break;
      case 0x65 /* e */:
        if (key.startsWith('embedding.embeddings.') && key.endsWith('.embedding.text')) {
          index.openInferenceEmbeddingTexts.push(key);
        }
        break;
      case 0x74 /* t */:
      case 0x61 /* a */:
        groupIfPrefixed(index.prefixed, key);
        break;
    }
  }
  return index;
}

function isIndexed(key: string, from: number): boolean {
  const unit = key.charCodeAt(from);
  return unit >= 0x30 && unit <= 0x39;
}

function groupIfPrefixed(groups: Map<string, string[]>, key: string): void {
  for (const prefix of GROUPED_PREFIXES) {
    if (key.startsWith(prefix) && key.length > prefix.length) {
      const keys = groups.get(prefix);
      if (keys) keys.push(key);
      else groups.set(prefix, [key]);
      return;
    }
  }
}

const NOT_PARSED = Symbol('not parsed');

export class SpanView {
  readonly keys: KeyIndex;
  private readonly parsed = new Map<string, unknown>();

  constructor(
    readonly name: string,
    readonly attributes: Attributes,
    readonly resourceAttributes: Attributes,
  ) {
    this.keys = indexKeys(attributes);
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
    const cached = this.parsed.get(key);
    if (cached !== undefined) return cached === NOT_PARSED ? undefined : cached;
    const value = parseJsonAttribute(this.attributes[key]);
    this.parsed.set(key, value === undefined ? NOT_PARSED : value);
    return value;
  }

  /** Keys grouped under a prefix, in span order. */
  grouped(prefix: GroupedPrefix): readonly string[] {
    return this.keys.prefixed.get(prefix) ?? [];
  }
}

/** A JSON attribute's value: parsed when it is a string holding an object or array, else undefined. */
export function parseJsonAttribute(value: AttributeValue | undefined): unknown {
  if (typeof value !== 'string' || value.length > MAX_JSON_ATTRIBUTE_LENGTH) return undefined;
  const first = firstNonSpace(value);
  if (first !== '{' && first !== '[' && first !== '"') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function firstNonSpace(value: string): string {
  for (let i = 0; i < value.length && i < 64; i++) {
    const char = value[i]!;
    if (char !== ' ' && char !== '\n' && char !== '\r' && char !== '\t') return char;
  }
  return '';
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
