/**
 * The token counts a span carries, under one set of names whatever the
 * convention: input, output, total, cache read, cache creation, reasoning.
 * A span that wraps model calls and repeats their usage keeps the counts as
 * `aggregate_*`, so summing `input_tokens` counts each model call once.
 *
 * text_custom_metrics keeps each count as the instrumentation reported it.
 * The token columns (schema 1.1, tokenColumns) read them the GenAI way:
 * `input_tokens` counts every input token, cached ones included (semantic
 * conventions v1.40.0, `gen_ai.usage.input_tokens`: "SHOULD include all types
 * of input tokens, including cached tokens"). Most sources report it so; the
 * few proven to report the Anthropic API's own `input_tokens`, which leaves
 * out the cache reads and writes, get them added back (inputLeavesOutCache),
 * and Langfuse's `input` usage type gets the other input usage types
 * (langfuseTypeSum). Nowhere else is anything added: a cache count is a part
 * of the input count, never a further one.
 */
import { AI_MODEL_PROVIDER, AI_OPERATION_ID, AI_USAGE } from './conventions/ai-sdk.js';
import { LANGFUSE_OBSERVATION_USAGE, langfuseUsage, langfuseUsageDetails } from './conventions/langfuse.js';
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
  ATTR_GEN_AI_SYSTEM,
} from './genai-names.js';
import type { JsonObject } from '../schema/columns.js';
import { countInvalidValue } from '../schema/data-quality.js';
import { normaliseProvider } from './call-identity.js';
import { KeyGroup, keyGroupOf } from './key-index.js';
import type { SpanLike } from './span-like.js';
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

/**
 * The counts, and the token attributes whose values were not counts (each
 * named once); and what tokenColumns needs to read the counts the GenAI way
 * (absent: as they are).
 */
export interface SpanTokens {
  readonly counts: TokenCounts;
  readonly invalid: readonly string[];
  /** The span reported a total (valid or not); else total_tokens, if any, is input + output worked out here. */
  readonly totalReported?: boolean;
  /**
   * The input count is the Anthropic API's (or Bedrock's) uncached one, and a
   * total reported with it is that count plus output: both leave out the
   * cache reads and writes (see inputLeavesOutCache).
   */
  readonly inputLeavesOutCache?: boolean;
  /**
   * Where the input (output) count is Langfuse's `input` (`output`) usage
   * type: the sum of every usage type whose name has `input` (`output`), as
   * Langfuse itself sums them; null when one of them is not a count.
   */
  readonly langfuseInput?: number | null | undefined;
  readonly langfuseOutput?: number | null | undefined;
}

/** The instrumentation scope of a span (its tracer's name and version). */
export type SpanScope = SpanLike['instrumentationScope'];

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
 * every source is invalid is null. `scope` tells an instrumentation's
 * versions apart where their attributes do not (inputLeavesOutCache).
 */
export function spanTokens(view: SpanView, scope?: SpanScope): SpanTokens {
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
  let langfuseInput: number | null | undefined;
  let langfuseOutput: number | null | undefined;
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
        // Langfuse's own usage types (`input`, `output`) are one part each of the input and the output.
        if (value.key === 'input') langfuseInput = langfuseTypeSum(view, 'input');
        else if (value.key === 'output') langfuseOutput = langfuseTypeSum(view, 'output');
      }
    }
  }
  const totalReported = counts.total_tokens !== undefined;
  const { input_tokens: input, output_tokens: output } = counts;
  if (!totalReported && typeof input === 'number' && typeof output === 'number') {
    // Two safe integers can sum past 2^53: such a total is left out rather than stored rounded.
    if (Number.isSafeInteger(input + output)) counts.total_tokens = input + output;
  }
  const { cache_read_tokens: cacheRead, cache_creation_tokens: cacheWrite } = counts;
  // With no cache tokens there is nothing to add: most spans stop here.
  const hasCache =
    (cacheRead !== undefined && cacheRead !== 0) || (cacheWrite !== undefined && cacheWrite !== 0);
  return {
    counts,
    invalid: invalid ?? NO_INVALID,
    totalReported,
    inputLeavesOutCache: hasCache && inputLeavesOutCache(view, scope),
    langfuseInput,
    langfuseOutput,
  };
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

/** The six token columns of a row (schema 1.1): this span's own usage, the GenAI way. */
export interface TokenColumns {
  readonly input_tokens: number | null;
  readonly output_tokens: number | null;
  readonly total_tokens: number | null;
  readonly cache_read_tokens: number | null;
  readonly cache_write_tokens: number | null;
  readonly reasoning_tokens: number | null;
}

export const NO_TOKEN_COLUMNS: TokenColumns = Object.freeze({
  input_tokens: null,
  output_tokens: null,
  total_tokens: null,
  cache_read_tokens: null,
  cache_write_tokens: null,
  reasoning_tokens: null,
});

/**
 * The six columns of a span's own usage: all null for a wrapper span
 * (aggregate), whose usage repeats its children's. `input_tokens` counts
 * every input token, cached ones included: the count as reported, plus the
 * cache reads and writes where the source is proven to leave them out, or
 * Langfuse's input usage types summed. `total_tokens` is the reported total
 * (with the same cache tokens added where they were added to the input),
 * else input plus output. The cache and reasoning columns are parts of input
 * and output, as reported (`cache_write_tokens` is the JSON's
 * `cache_creation_tokens`). A sum past 2^53 - 1 is null, never rounded.
 */
export function tokenColumns(tokens: SpanTokens, aggregate: boolean): TokenColumns {
  if (aggregate) return NO_TOKEN_COLUMNS;
  const { counts } = tokens;
  const leftOut =
    tokens.inputLeavesOutCache === true
      ? sum(partOrZero(counts.cache_read_tokens), partOrZero(counts.cache_creation_tokens))
      : 0;
  const input =
    tokens.langfuseInput !== undefined ? tokens.langfuseInput : sum(counts.input_tokens ?? null, leftOut);
  const output = tokens.langfuseOutput !== undefined ? tokens.langfuseOutput : (counts.output_tokens ?? null);
  // A span that reported no total (tokens.totalReported unset on a hand-made SpanTokens) gets input + output.
  const total =
    tokens.totalReported === true ? sum(counts.total_tokens ?? null, leftOut) : sum(input, output);
  return {
    input_tokens: input,
    output_tokens: output,
    total_tokens: total,
    cache_read_tokens: counts.cache_read_tokens ?? null,
    cache_write_tokens: counts.cache_creation_tokens ?? null,
    reasoning_tokens: counts.reasoning_tokens ?? null,
  };
}

/** A cache count to add: 0 when the span reported none, null when it reported one that is not a count. */
function partOrZero(count: number | null | undefined): number | null {
  return count === undefined ? 0 : count;
}

/** a + b; null when either is unknown or the sum passes 2^53 - 1. */
function sum(a: number | null, b: number | null): number | null {
  if (a === null || b === null) return null;
  const total = a + b;
  return Number.isSafeInteger(total) ? total : null;
}

/**
 * The span's input count is the Anthropic API's `input_tokens` (or Bedrock
 * Converse's `inputTokens`), which counts neither the tokens read from the
 * cache nor those written to it; a total reported with it is that count plus
 * output. Proven, from their source, of:
 * - OpenLLMetry's @traceloop/instrumentation-anthropic up to 0.27.0
 *   (`_endSpan`: `gen_ai.usage.input_tokens` = `usage.input_tokens`, total =
 *   input_tokens + output_tokens); the release after it adds the cache tokens
 *   (openllmetry-js #1028), so only its scope's version tells them apart.
 * - The AI SDK's version-2 providers for Anthropic and Bedrock
 *   (@ai-sdk/anthropic 2.0.95, @ai-sdk/amazon-bedrock 3.0.119: usage
 *   `inputTokens` = the API's count, `cachedInputTokens` = cache reads,
 *   `totalTokens` = input + output), run by AI SDK 5 or by AI SDK 6; and AI
 *   SDK 4's, where OpenLLMetry's span processor (@traceloop/node-server-sdk
 *   0.27.0) copied the cache counts from `ai.response.providerMetadata` and
 *   noted `ai.sdk.version`. Their version-3 providers, which AI SDK 6 and 7
 *   run, report `inputTokens.total` = noCache + cacheRead + cacheWrite.
 * Every other source counts the cache tokens in: the Anthropic SDK's own
 * spans, OpenInference (from @arizeai/openinference-instrumentation-anthropic
 * 0.2.8 on; before, it set no cache counts), the AI SDK 6 and 7, and every
 * OpenAI instrumentation (OpenAI's `prompt_tokens` include `cached_tokens`).
 */
function inputLeavesOutCache(view: SpanView, scope: SpanScope): boolean {
  if (scope?.name === OPENLLMETRY_ANTHROPIC_SCOPE) {
    return versionAtMost(scope.version, OPENLLMETRY_ANTHROPIC_LAST_UNCACHED);
  }
  if (!view.has(AI_SDK_GROUPS)) return false;
  if (!(aiSdkMajor(view) <= 5 || (isAiSdkTextCall(view) && view.get(AI_USAGE_NO_CACHE) === undefined))) {
    return false;
  }
  const raw = view.get(AI_MODEL_PROVIDER) ?? view.get(ATTR_GEN_AI_SYSTEM);
  const provider = typeof raw === 'string' ? normaliseProvider(raw) : undefined;
  return provider !== undefined && AI_SDK_UNCACHED_PROVIDERS.has(provider);
}

const OPENLLMETRY_ANTHROPIC_SCOPE = '@traceloop/instrumentation-anthropic';
const OPENLLMETRY_ANTHROPIC_LAST_UNCACHED = [0, 27, 0] as const;
const AI_SDK_GROUPS = KeyGroup.aiSdk | KeyGroup.aiSdkUsage;
/** Set on AI SDK spans by OpenLLMetry's span processor (@traceloop/node-server-sdk 0.27.0): the `ai` package's version. */
const AI_SDK_VERSION = 'ai.sdk.version';
/**
 * The uncached input of AI SDK 6 and 7's usage (LanguageModelV3 and V4
 * `inputTokens.noCache`), which their Anthropic and Bedrock providers always
 * set with the counts, on every text call's spans. A text call's span without
 * it comes from AI SDK 5 (no input details at all), or from AI SDK 6 running a
 * version-2 provider (ai 6.0.326 convertV2UsageToV3: `total` is the
 * provider's `inputTokens`, `noCache` undefined).
 */
const AI_USAGE_NO_CACHE = 'ai.usage.inputTokenDetails.noCacheTokens';
/**
 * Providers whose AI SDK 5 usage leaves the cache out, as call-identity
 * normalises their `ai.model.provider`: `anthropic.messages`,
 * `vertex.anthropic.messages` (the same model class), `amazon-bedrock`.
 */
const AI_SDK_UNCACHED_PROVIDERS: ReadonlySet<string> = new Set([
  'anthropic',
  'vertex.anthropic',
  'aws.bedrock',
]);

/** The AI SDK's major version, when OpenLLMetry noted it; Infinity when unknown. */
function aiSdkMajor(view: SpanView): number {
  const version = view.get(AI_SDK_VERSION);
  const major = typeof version === 'string' ? /^(\d+)\./.exec(version)?.[1] : undefined;
  return major === undefined ? Infinity : Number(major);
}

/**
 * A generateText or streamText span: AI SDK 6 and 7 write no input details
 * on their object calls' spans (generateObject, streamObject), so only a text
 * call tells the versions apart.
 */
function isAiSdkTextCall(view: SpanView): boolean {
  const operation = view.get(AI_OPERATION_ID);
  return (
    typeof operation === 'string' &&
    (operation.startsWith('ai.streamText') || operation.startsWith('ai.generateText'))
  );
}

/** `version` (major.minor.patch) is at most `last`; false when it is not a version. */
function versionAtMost(version: string | undefined, last: readonly [number, number, number]): boolean {
  const match = version === undefined ? null : /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (match === null) return false;
  for (let i = 0; i < 3; i++) {
    const part = Number(match[i + 1]);
    if (part !== last[i]) return part < last[i]!;
  }
  return true;
}

/**
 * The sum of the Langfuse usage types whose name has `word`: Langfuse counts
 * them all as input (output) usage ("Model Usage & Cost Tracking"), and its
 * integrations split the counts that way (@langfuse/openai and
 * @langfuse/langchain 5.11.1: `input` is the prompt tokens less each
 * `input_<detail>`, cached tokens among them). Null when one is not a count,
 * or the sum passes 2^53 - 1.
 */
function langfuseTypeSum(view: SpanView, word: 'input' | 'output'): number | null {
  const usage = langfuseUsageDetails(view);
  let total = 0;
  for (const key in usage) {
    if (!key.includes(word)) continue;
    const count = tokenCount(usage[key]);
    if (count === undefined) return null;
    total += count;
  }
  return Number.isSafeInteger(total) ? total : null;
}
