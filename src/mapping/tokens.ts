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
import { countInvalidValue } from '../schema/data-quality.js';
import { keyGroupOf } from './key-index.js';
import type { SpanView } from './span-view.js';

export type TokenName =
  | 'input_tokens'
  | 'output_tokens'
  | 'total_tokens'
  | 'cache_read_tokens'
  | 'cache_creation_tokens'
  | 'reasoning_tokens';

/** A count: a non-negative safe integer; null when the span gave only values that are not counts. */
export type TokenCounts = Partial<Record<TokenName, number | null>>;

/** The counts, and the token attributes whose values were not counts (each named once). */
export interface SpanTokens {
  readonly counts: TokenCounts;
  readonly invalid: readonly string[];
}

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
 * count comes from its first source whose value is a count (see tokenCount);
 * a source whose value is not one is named in `invalid`, and a count whose
 * every source is invalid is null.
 */
export function spanTokens(view: SpanView): SpanTokens {
  const counts = noCounts();
  const ranks = noRanks();
  let invalid: string[] | undefined;
  for (const key of view.keys.usageKeys) {
    const source = SOURCE_OF_KEY.get(key);
    if (source === undefined) continue;
    const count = tokenCount(view.get(key));
    if (count === undefined) {
      (invalid ??= []).push(key);
      if (counts[source.name] === undefined) counts[source.name] = null;
    } else if (source.rank < ranks[source.name]) {
      counts[source.name] = count;
      ranks[source.name] = source.rank;
    }
  }
  if (view.has(LANGFUSE_USAGE_GROUP)) {
    const langfuse = langfuseUsage(view);
    for (const [name, field] of LANGFUSE_FIELDS) {
      const value = langfuse[field];
      if (value === undefined || typeof counts[name] === 'number') continue;
      const count = tokenCount(value.value);
      if (count === undefined) {
        (invalid ??= []).push(`${LANGFUSE_OBSERVATION_USAGE}.${value.key}`);
        counts[name] ??= null;
      } else {
        counts[name] = count;
      }
    }
  }
  const { input_tokens: input, output_tokens: output } = counts;
  if (counts.total_tokens === undefined && typeof input === 'number' && typeof output === 'number') {
    // Two safe integers can sum past 2^53: such a total is left out rather than stored rounded.
    if (Number.isSafeInteger(input + output)) counts.total_tokens = input + output;
  }
  return { counts, invalid: invalid ?? NO_INVALID };
}

const NO_INVALID: readonly string[] = [];
const LANGFUSE_FIELDS = [
  ['input_tokens', 'input'],
  ['output_tokens', 'output'],
  ['total_tokens', 'total'],
] as const;
const DECIMAL_DIGITS = /^\d{1,16}$/;

/**
 * A token count as stored: a non-negative safe integer, given as a number or
 * as a string of decimal digits; undefined for anything else (1.5, 1e300,
 * NaN, -1, "0x10", "1e3", "", a boolean), which no SUM over the column
 * should meet.
 */
export function tokenCount(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value + 0 : undefined;
  if (typeof value === 'string' && DECIMAL_DIGITS.test(value)) {
    const parsed = Number(value);
    return Number.isSafeInteger(parsed) ? parsed : undefined;
  }
  return undefined;
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

/** The rank of the source each count was taken from; Infinity while none. */
function noRanks(): Record<TokenName, number> {
  return {
    input_tokens: Infinity,
    output_tokens: Infinity,
    total_tokens: Infinity,
    cache_read_tokens: Infinity,
    cache_creation_tokens: Infinity,
    reasoning_tokens: Infinity,
  };
}

/**
 * Adds the counts to `metrics`, as `aggregate_*` for a span that repeats its
 * children's usage, and names each invalid source under `invalid_values`.
 */
export function addTokenMetrics(metrics: JsonObject, tokens: SpanTokens, aggregate: boolean): void {
  for (const name of TOKEN_NAMES) {
    const count = tokens.counts[name];
    if (count !== undefined) metrics[aggregate ? AGGREGATE_NAMES[name] : name] = count;
  }
  for (const key of tokens.invalid) countInvalidValue(metrics, key);
}

// TEMPORARY stub: replaced by the tokens branch.
export interface TokenColumns {
  readonly input_tokens: number | null;
  readonly output_tokens: number | null;
  readonly total_tokens: number | null;
  readonly cache_read_tokens: number | null;
  readonly cache_write_tokens: number | null;
  readonly reasoning_tokens: number | null;
}
export const NO_TOKEN_COLUMNS: TokenColumns = {
  input_tokens: null,
  output_tokens: null,
  total_tokens: null,
  cache_read_tokens: null,
  cache_write_tokens: null,
  reasoning_tokens: null,
};
export function tokenColumns(tokens: SpanTokens, aggregate: boolean): TokenColumns {
  if (aggregate) return NO_TOKEN_COLUMNS;
  const c = tokens.counts;
  return {
    input_tokens: c.input_tokens ?? null,
    output_tokens: c.output_tokens ?? null,
    total_tokens: c.total_tokens ?? null,
    cache_read_tokens: c.cache_read_tokens ?? null,
    cache_write_tokens: c.cache_creation_tokens ?? null,
    reasoning_tokens: c.reasoning_tokens ?? null,
  };
}
