/**
 * Tokens a span should have carried but did not: OpenLLMetry and OpenInference
 * record no usage for a streamed answer, OpenInference none for an embedding,
 * although the server sent it. Where the span names an OpenAI model (whose
 * tokenizer is public and maintained), the exporter counts the tokens of the
 * text the row measured, off the application's thread, and this file says
 * which spans qualify and how a row takes the counts.
 *
 * A span that carries any usage is never estimated, nor one that failed (a
 * refused call is not billed), a wrapper span (its usage is its children's),
 * or one whose charge was reported.
 */
import { addCostMetrics, copyAllButCostMetrics, priceCall, type CallCost } from '../pricing/price-call.js';
import type { PriceTable } from '../pricing/price-table.js';
import type { JsonObject, MetricEvent } from '../schema/columns.js';
import type { CallModels } from './call-identity.js';
import type { OperationType } from './operation-type.js';
import { prefixOf } from './span-view.js';
import type { SpanTokens } from './tokens.js';

/** The tokenizers estimates are made with (gpt-tokenizer's encodings of the same names). */
export type TokenizerName = 'o200k_base' | 'cl100k_base';

/** A side of a call to count: the head the row measured, and the length of the whole text. */
export interface TextToCount {
  readonly text: string;
  /** UTF-16 code units of the whole text; above `text.length` when the row measured a head. */
  readonly length: number;
}

/** What the exporter hands the tokenizer for one row, and what the row is priced with afterwards. */
export interface TokensToEstimate {
  readonly tokenizer: TokenizerName;
  readonly input: TextToCount | undefined;
  readonly output: TextToCount | undefined;
  readonly models: CallModels;
  readonly provider: string | undefined;
  readonly atMillis: number;
  /** Tokens the API adds to a chat's input around the text (CHAT_FRAMING_TOKENS); 0 for an embedding. */
  readonly inputFraming: number;
}

/**
 * What OpenAI's chat models add to the text of the input: 3 tokens per
 * message and 1 for its role, and 3 that prime the reply (the OpenAI
 * Cookbook's "How to count tokens with tiktoken", num_tokens_from_messages,
 * for the gpt-4o and gpt-4 families). The row keeps the prompt as one text,
 * so one message is counted: a prompt of several messages is estimated about
 * 4 tokens low for each further one.
 */
export const CHAT_FRAMING_TOKENS = 7;

/** Token counts the tokenizer gave, scaled to the whole text where a head was counted. */
export interface EstimatedTokens {
  readonly input: number | undefined;
  readonly output: number | undefined;
}

export interface EstimationInputs {
  readonly operationType: OperationType;
  readonly aggregate: boolean;
  readonly tokens: SpanTokens;
  readonly cost: CallCost | undefined;
  readonly failed: boolean;
  readonly models: CallModels;
  readonly provider: string | undefined;
  readonly atMillis: number;
  readonly input: string | undefined;
  readonly output: string | undefined;
  /**
   * A reader stopped early (the span's values are longer than
   * maxMeasuredBytes): the text is a head of unknown share, so a count of it
   * would be too low by an unknown amount, and the row is not estimated.
   */
  readonly readPartially: boolean;
  /** The characters of a span the mapping measures at most: the tokenizer counts no more. */
  readonly maxMeasured: number;
}

/** The estimate a row needs, or undefined when its tokens are not to be estimated. */
export function tokensToEstimate(inputs: EstimationInputs): TokensToEstimate | undefined {
  const { operationType, tokens } = inputs;
  if (operationType !== 'llm_call' && operationType !== 'embedding') return undefined;
  if (inputs.aggregate || inputs.failed || inputs.readPartially) return undefined;
  if (tokens.invalid.length > 0 || carriesUsage(tokens)) return undefined;
  if (inputs.cost !== undefined && inputs.cost.source !== 'no_usage') return undefined;
  const tokenizer = tokenizerOf(inputs.models.response) ?? tokenizerOf(inputs.models.request);
  if (tokenizer === undefined) return undefined;
  const input = toCount(inputs.input, inputs.maxMeasured);
  // An embedding's output is a vector: it has no output tokens.
  const output = operationType === 'embedding' ? undefined : toCount(inputs.output, inputs.maxMeasured);
  if (input === undefined && output === undefined) return undefined;
  const { models, provider, atMillis } = inputs;
  const inputFraming = operationType === 'llm_call' ? CHAT_FRAMING_TOKENS : 0;
  return { tokenizer, input, output, models, provider, atMillis, inputFraming };
}

/** Any token count at all, valid or not: a span that reports some usage is never estimated. */
function carriesUsage(tokens: SpanTokens): boolean {
  for (const count of Object.values(tokens.counts)) if (count !== undefined) return true;
  return false;
}

function toCount(text: string | undefined, maxMeasured: number): TextToCount | undefined {
  if (text === undefined || text.length === 0) return undefined;
  return { text: text.length > maxMeasured ? prefixOf(text, maxMeasured) : text, length: text.length };
}

/**
 * OpenAI's model families and their encodings (tiktoken's `model.py`, which
 * gpt-tokenizer follows): the GPT-4o generation and later, and the o-series,
 * use o200k_base; GPT-4, GPT-3.5 and the embedding models cl100k_base. A
 * provider's prefix (`openai/gpt-4o`, OpenRouter's form) is read past. Any
 * other model (Claude, Gemini, Llama, ...) has no public tokenizer that a
 * count could be trusted with here: its tokens are not estimated.
 */
export function tokenizerOf(model: string | undefined): TokenizerName | undefined {
  if (model === undefined) return undefined;
  const name = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  if (O200K_FAMILIES.test(name)) return 'o200k_base';
  if (CL100K_FAMILIES.test(name)) return 'cl100k_base';
  return undefined;
}

const O200K_FAMILIES =
  /^(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4|codex-mini)(?:$|[-.:])/;
const CL100K_FAMILIES = /^(?:gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)(?:$|[-.:])/;

/**
 * The tokens the tokenizer counted in a head, scaled to the whole text: the
 * mapping measures at most maxMeasuredBytes of a span, and the tokenizer
 * counts what was measured.
 */
export function scaledCount(counted: number, side: TextToCount): number {
  if (side.length <= side.text.length || side.text.length === 0) return counted;
  return Math.round((counted * side.length) / side.text.length);
}

/**
 * The row with the estimated counts in its token columns, priced at the
 * price in force when the call was made with `cost_source` `estimated`, and
 * `tokens_estimated: true` and the tokenizer named in text_custom_metrics.
 */
export function withEstimatedTokens(
  row: MetricEvent,
  need: TokensToEstimate,
  counts: EstimatedTokens,
  table: PriceTable,
): MetricEvent {
  const input = counts.input === undefined ? null : counts.input + need.inputFraming;
  const output = counts.output ?? null;
  if (input === null && output === null) return row;
  const cost = priceCall(table, {
    requestModel: need.models.request,
    responseModel: need.models.response,
    provider: need.provider,
    atMillis: need.atMillis,
    tokens: {
      input_tokens: input,
      output_tokens: output,
      cache_read_tokens: null,
      cache_write_tokens: null,
      reasoning_tokens: null,
    },
    estimated: true,
  });
  // The cost keys first, as the mapping writes them; then the row's other keys, then the estimate's.
  const metrics: JsonObject = {};
  addCostMetrics(metrics, cost, false);
  copyAllButCostMetrics(row.text_custom_metrics ?? {}, metrics);
  metrics['tokens_estimated'] = true;
  metrics['tokenizer'] = need.tokenizer;
  return {
    ...row,
    input_tokens: input,
    output_tokens: output,
    total_tokens: (input ?? 0) + (output ?? 0),
    cost_usd: cost.usd,
    text_custom_metrics: metrics,
  };
}
