/**
 * The token counts a span carries, under one set of names whatever the
 * convention: input, output, total, cache read, cache creation, reasoning.
 * A span that wraps model calls and repeats their usage keeps the counts as
 * `aggregate_*`, so summing `input_tokens` counts each model call once.
 */
import { AI_USAGE } from './conventions/ai-sdk.js';
import { LANGFUSE_OBSERVATION_USAGE, langfuseUsage } from './conventions/langfuse.js';
import {
  LLM_TOKEN_COUNT_CACHE_READ,
  LLM_TOKEN_COUNT_CACHE_WRITE,
  LLM_TOKEN_COUNT_COMPLETION,
  LLM_TOKEN_COUNT_PROMPT,
  LLM_TOKEN_COUNT_REASONING,
  LLM_TOKEN_COUNT_TOTAL,
} from './conventions/openinference.js';
import {
  GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  GEN_AI_USAGE_REASONING_TOKENS,
  GEN_AI_USAGE_TOTAL_TOKENS,
  LLM_USAGE_TOTAL_TOKENS,
} from './conventions/openllmetry.js';
import {
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_COMPLETION_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_PROMPT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
} from './genai-names.js';
import type { JsonObject } from '../schema/columns.js';
import { keyGroupOf } from './key-index.js';
import type { SpanView } from './span-view.js';

export type TokenName =
  | 'input_tokens'
  | 'output_tokens'
  | 'total_tokens'
  | 'cache_read_tokens'
  | 'cache_creation_tokens'
  | 'reasoning_tokens';

export type TokenCounts = Partial<Record<TokenName, number>>;

/** Where each count is read, first present wins. Every key is in a usage key group (see key-index.ts). */
export const TOKEN_SOURCES: Readonly<Record<TokenName, readonly string[]>> = {
  input_tokens: [
    ATTR_GEN_AI_USAGE_INPUT_TOKENS,
    ATTR_GEN_AI_USAGE_PROMPT_TOKENS,
    LLM_TOKEN_COUNT_PROMPT,
    ...AI_USAGE.input,
    // AI SDK embeddings report only `ai.usage.tokens`: they are input tokens.
    AI_USAGE.embedding,
  ],
  output_tokens: [
    ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
    ATTR_GEN_AI_USAGE_COMPLETION_TOKENS,
    LLM_TOKEN_COUNT_COMPLETION,
    ...AI_USAGE.output,
  ],
  total_tokens: [GEN_AI_USAGE_TOTAL_TOKENS, LLM_USAGE_TOTAL_TOKENS, LLM_TOKEN_COUNT_TOTAL, ...AI_USAGE.total],
  cache_read_tokens: [
    ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    LLM_TOKEN_COUNT_CACHE_READ,
    ...AI_USAGE.cacheRead,
  ],
  cache_creation_tokens: [
    ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    // The Anthropic SDK's own spans (@anthropic-ai/sdk 1.14.0, src/internal/tracing.ts).
    'gen_ai.usage.cache_write.input_tokens',
    LLM_TOKEN_COUNT_CACHE_WRITE,
    ...AI_USAGE.cacheCreation,
  ],
  reasoning_tokens: [
    ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    GEN_AI_USAGE_REASONING_TOKENS,
    LLM_TOKEN_COUNT_REASONING,
    ...AI_USAGE.reasoning,
  ],
};

const TOKEN_NAMES = Object.keys(TOKEN_SOURCES) as TokenName[];
/** Each source key: the count it gives and its rank among that count's sources (0 is read first). */
const SOURCE_OF_KEY = new Map<string, { readonly name: TokenName; readonly rank: number }>(
  TOKEN_NAMES.flatMap((name) => TOKEN_SOURCES[name].map((key, rank) => [key, { name, rank }] as const)),
);
const LANGFUSE_USAGE_GROUP = keyGroupOf(LANGFUSE_OBSERVATION_USAGE);
const AGGREGATE_NAMES: Readonly<Record<TokenName, string>> = Object.fromEntries(
  TOKEN_NAMES.map((name) => [name, `aggregate_${name}`]),
) as Record<TokenName, string>;

/**
 * Token counts present on the span; total is input + output when the span
 * gives both but no total. Only the usage keys the span has are read: each
 * count comes from its first source whose value is a count (>= 0).
 */
export function spanTokens(view: SpanView): TokenCounts {
  const tokens = noCounts();
  const ranks = noCounts();
  for (const key of view.keys.usageKeys) {
    const source = SOURCE_OF_KEY.get(key);
    if (source === undefined || (ranks[source.name] ?? Infinity) < source.rank) continue;
    const count = view.number(key);
    if (count !== undefined && count >= 0) {
      tokens[source.name] = count;
      ranks[source.name] = source.rank;
    }
  }
  if (view.has(LANGFUSE_USAGE_GROUP)) {
    const langfuse = langfuseUsage(view);
    if (tokens.input_tokens === undefined) setIfNonNegative(tokens, 'input_tokens', langfuse.input);
    if (tokens.output_tokens === undefined) setIfNonNegative(tokens, 'output_tokens', langfuse.output);
    if (tokens.total_tokens === undefined) setIfNonNegative(tokens, 'total_tokens', langfuse.total);
  }
  if (
    tokens.total_tokens === undefined &&
    tokens.input_tokens !== undefined &&
    tokens.output_tokens !== undefined
  ) {
    tokens.total_tokens = tokens.input_tokens + tokens.output_tokens;
  }
  return tokens;
}

/** Every count unset, all six fields present: counts objects then share one shape. */
function noCounts(): TokenCounts {
  return {
    input_tokens: undefined,
    output_tokens: undefined,
    total_tokens: undefined,
    cache_read_tokens: undefined,
    cache_creation_tokens: undefined,
    reasoning_tokens: undefined,
  };
}

function setIfNonNegative(tokens: TokenCounts, name: TokenName, value: number | undefined): void {
  if (value !== undefined && value >= 0) tokens[name] = value;
}

/** Adds the counts to `metrics`, as `aggregate_*` for a span that repeats its children's usage. */
export function addTokenMetrics(metrics: JsonObject, tokens: TokenCounts, aggregate: boolean): void {
  for (const name of TOKEN_NAMES) {
    const count = tokens[name];
    // A total summed from two huge counts can overflow: JSON has no Infinity.
    if (count !== undefined)
      metrics[aggregate ? AGGREGATE_NAMES[name] : name] = Number.isFinite(count) ? count : null;
  }
}
