/**
 * What a row should hold, computed here from what the fake server returned and
 * the image that was sent, independently of the mapping's own code.
 */
import { calcPrice } from '@pydantic/genai-prices';
import { getEncoding } from 'js-tiktoken';
import { expect } from 'vitest';
import {
  CHAT_ANSWER,
  TOOL_CALL_ANSWER,
  WEATHER_TOOL_RESULT,
  type FakeChatAnswer,
} from '../support/fake-llm-server.js';
import {
  CHAT_MODEL,
  CHAT_QUESTION,
  EMBEDDING_INPUT,
  EMBEDDING_MODEL,
  WEATHER_QUESTION,
} from '../support/capture/prompts.js';
import { CAPTURE_SERVICE_NAME } from '../support/capture/tracing.js';
import type { StoredRow } from './stored-rows.js';

export interface TextColumns {
  readonly text_char_count: number;
  readonly text_word_count: number;
  readonly text_byte_size: number;
  readonly text_line_count: number;
}

/** Code points, whitespace-separated words, UTF-8 bytes, newlines + 1. */
export function textColumnsOf(text: string): TextColumns {
  return {
    text_char_count: Array.from(text).length,
    text_word_count: text.split(/\s+/).filter((word) => word !== '').length,
    text_byte_size: new TextEncoder().encode(text).length,
    text_line_count: text.split('\n').length,
  };
}

export function textColumns(row: StoredRow): Record<keyof TextColumns, number | null> {
  return {
    text_char_count: row.text_char_count,
    text_word_count: row.text_word_count,
    text_byte_size: row.text_byte_size,
    text_line_count: row.text_line_count,
  };
}

/** The input-side measures (text_custom_metrics) of a prompt text. */
export function inputColumnsOf(text: string): Record<string, number> {
  const counts = textColumnsOf(text);
  return {
    input_char_count: counts.text_char_count,
    input_word_count: counts.text_word_count,
    input_byte_size: counts.text_byte_size,
    input_line_count: counts.text_line_count,
  };
}

/**
 * The prompt of the model call after a tool ran, as text: the question, the
 * tool call the model made (its arguments) and the tool's result, one a line.
 */
export const PROMPT_AFTER_TOOL = [
  WEATHER_QUESTION,
  TOOL_CALL_ANSWER.toolCalls[0]!.arguments,
  JSON.stringify(WEATHER_TOOL_RESULT),
].join('\n');

/** The answer's text, which the fake server sends as the completion. */
export function answerText(answer: FakeChatAnswer): string {
  if (answer.text === null) throw new Error('this answer is a tool call, it has no text');
  return answer.text;
}

/** The token counts the fake server reported for an answer, under the row's keys. */
export function reportedTokens(answer: FakeChatAnswer): {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cache_read_tokens: number;
  reasoning_tokens: number;
} {
  return {
    input_tokens: answer.usage.prompt_tokens,
    output_tokens: answer.usage.completion_tokens,
    total_tokens: answer.usage.total_tokens,
    cache_read_tokens: answer.usage.prompt_tokens_details.cached_tokens,
    reasoning_tokens: answer.usage.completion_tokens_details.reasoning_tokens,
  };
}

export const TOKEN_KEYS = [
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'reasoning_tokens',
] as const;

/** The token keys a row holds (text_custom_metrics), with their values. */
export function tokensOf(row: StoredRow): Record<string, unknown> {
  const metrics = row.text_custom_metrics ?? {};
  return Object.fromEntries(TOKEN_KEYS.filter((key) => key in metrics).map((key) => [key, metrics[key]]));
}

/** The image columns of a row. */
export function imageColumns(row: StoredRow): Record<string, unknown> {
  return {
    image_count: row.image_count,
    image_width: row.image_width,
    image_height: row.image_height,
    image_format: row.image_format,
    image_file_size_bytes: row.image_file_size_bytes,
    image_total_pixels: row.image_total_pixels,
  };
}

/** A PNG's own header: width and height from IHDR (bytes 16 to 23), and its byte size. */
export function pngFacts(png: Buffer): Record<string, unknown> {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  return {
    image_count: 1,
    image_width: width,
    image_height: height,
    image_format: 'png',
    image_file_size_bytes: png.length,
    image_total_pixels: width * height,
  };
}

/** The schema 1.1 columns of a row (time to first token is null in this release). */
export function schema11Columns(row: StoredRow): Record<string, unknown> {
  return {
    model: row.model,
    provider: row.provider,
    input_tokens: row.input_tokens,
    output_tokens: row.output_tokens,
    total_tokens: row.total_tokens,
    cache_read_tokens: row.cache_read_tokens,
    cache_write_tokens: row.cache_write_tokens,
    reasoning_tokens: row.reasoning_tokens,
    cost_usd: row.cost_usd,
    time_to_first_token_ms: row.time_to_first_token_ms,
    finish_reason: row.finish_reason,
    user_id: row.user_id,
    service_name: row.service_name,
  };
}

/**
 * The 1.1 columns of the chat scenario's model-call row, as the fake server
 * answered it; `unrecorded`: the counts this instrumentation does not record (null).
 */
export function expectedChatColumns(
  userId: string,
  unrecorded: readonly ('cache_read_tokens' | 'reasoning_tokens')[] = [],
): Record<string, unknown> {
  const expected: Record<string, unknown> = {
    model: CHAT_MODEL,
    provider: 'openai',
    input_tokens: CHAT_ANSWER.usage.prompt_tokens,
    output_tokens: CHAT_ANSWER.usage.completion_tokens,
    total_tokens: CHAT_ANSWER.usage.total_tokens,
    cache_read_tokens: CHAT_ANSWER.usage.prompt_tokens_details.cached_tokens,
    cache_write_tokens: null,
    reasoning_tokens: CHAT_ANSWER.usage.completion_tokens_details.reasoning_tokens,
    cost_usd: expect.closeTo(chatCostUsd(!unrecorded.includes('cache_read_tokens')), 15),
    time_to_first_token_ms: null,
    finish_reason: 'stop',
    user_id: userId,
    service_name: CAPTURE_SERVICE_NAME,
  };
  for (const name of unrecorded) expected[name] = null;
  return expected;
}

/**
 * The rates of the chat model in the bundled price table on `day`, read from
 * @pydantic/genai-prices' own data (not through the package's pricing code).
 */
export function bundledRates(model: string, day = new Date()): Record<string, number> {
  const found = calcPrice({}, model, { providerId: 'openai', timestamp: day });
  if (found === null) throw new Error(`the bundled table has no price for ${model}`);
  return found.model_price as Record<string, number>;
}

/**
 * The chat answer's cost: uncached input at the input rate, cache reads at
 * the cache-read rate (when the instrumentation records them; else all input
 * at the input rate), output (reasoning included: the model has no reasoning
 * rate) at the output rate.
 */
export function chatCostUsd(cacheRecorded: boolean, answer: FakeChatAnswer = CHAT_ANSWER): number {
  const rates = bundledRates(CHAT_MODEL);
  const { prompt_tokens: input, completion_tokens: output } = answer.usage;
  const cached = cacheRecorded ? answer.usage.prompt_tokens_details.cached_tokens : 0;
  expect(rates['output_reasoning_mtok']).toBeUndefined();
  return (
    ((input - cached) * rates['input_mtok']! +
      cached * rates['cache_read_mtok']! +
      output * rates['output_mtok']!) /
    1e6
  );
}

/** The 1.1 columns of a call the server refused: the model it asked for (the fake server's error model), no usage. */
export const FAILED_CALL_COLUMNS = {
  model: 'error-429',
  provider: 'openai',
  input_tokens: null,
  output_tokens: null,
  total_tokens: null,
  finish_reason: null,
} as const;

/**
 * Whether `rows` count each model call's usage once in the token columns:
 * rows that repeat their children's usage (aggregate_* in the JSON) have none.
 * Returns the wrapper rows found and the sum of input_tokens.
 */
export function tokenColumnsOnce(rows: readonly StoredRow[]): { wrappers: number; inputTokens: number } {
  const wrappers = rows.filter((row) => row.text_custom_metrics?.['aggregate_input_tokens'] !== undefined);
  for (const row of wrappers) expect(row.input_tokens, row.operation_name).toBeNull();
  return {
    wrappers: wrappers.length,
    inputTokens: rows.reduce((sum, row) => sum + (row.input_tokens ?? 0), 0),
  };
}

/**
 * What the OpenAI API adds to a chat's input text, one message and the
 * reply's priming (the OpenAI Cookbook, "How to count tokens with tiktoken").
 */
const CHAT_FRAMING = 3 + 1 + 3;
const o200k = getEncoding('o200k_base');
const cl100k = getEncoding('cl100k_base');

/**
 * The columns of a call whose tokens the exporter estimated, counted here with
 * js-tiktoken (another implementation of the same encodings) and priced at
 * the bundled table's rates: the chat-stream scenario (one question, the chat
 * answer; gpt-4o-mini, o200k_base), or the embedding scenario
 * (text-embedding-3-small, cl100k_base; no output tokens).
 */
export function estimatedColumnsOf(scenario: 'chat-stream' | 'embedding'): Record<string, unknown> {
  const chat = scenario === 'chat-stream';
  const input = chat
    ? o200k.encode(CHAT_QUESTION).length + CHAT_FRAMING
    : cl100k.encode(EMBEDDING_INPUT).length;
  const output = chat ? o200k.encode(answerText(CHAT_ANSWER)).length : null;
  const rates = bundledRates(chat ? CHAT_MODEL : EMBEDDING_MODEL);
  return {
    input_tokens: input,
    output_tokens: output,
    total_tokens: input + (output ?? 0),
    cost_usd: expect.closeTo(
      (input * rates['input_mtok']! + (output ?? 0) * (rates['output_mtok'] ?? 0)) / 1e6,
      15,
    ),
    cost_source: 'estimated',
    tokens_estimated: true,
    tokenizer: chat ? 'o200k_base' : 'cl100k_base',
  };
}

/** The columns estimatedColumnsOf describes, as a stored row holds them. */
export function estimatedColumns(row: StoredRow): Record<string, unknown> {
  const metrics = row.text_custom_metrics ?? {};
  return {
    input_tokens: row.input_tokens,
    output_tokens: row.output_tokens,
    total_tokens: row.total_tokens,
    cost_usd: row.cost_usd,
    cost_source: metrics['cost_source'],
    tokens_estimated: metrics['tokens_estimated'],
    tokenizer: metrics['tokenizer'],
  };
}
