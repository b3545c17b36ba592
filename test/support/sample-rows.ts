/**
 * metric_events rows shaped like the mapping's output for real instrumentations:
 * chat calls with token counts, embeddings, tool calls, a few images, a few
 * errors, nulls where a span carries nothing. Fitted like every row a sink gets.
 */
import { createHash } from 'node:crypto';
import { SCHEMA_VERSION, type MetricEvent } from '../../src/schema/columns.js';
import { fitRow } from '../../src/schema/fit-row.js';
import { epochMicrosToIsoMicros } from '../../src/schema/timestamps.js';

const MODELS = [
  ['openai', 'gpt-4o', '@traceloop/instrumentation-openai'],
  ['openai', 'gpt-4o-mini', '@arizeai/openinference-instrumentation-openai'],
  ['anthropic', 'claude-sonnet-4-5', '@traceloop/instrumentation-anthropic'],
  ['openai', 'text-embedding-3-small', 'ai'],
] as const;

function hex(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

/** A name-based UUID, as the mapping derives event_id from trace and span ids. */
function uuidFrom(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface SampleOptions {
  /** First span start, microseconds since the epoch. */
  readonly startMicros?: bigint;
  /** Microseconds between two span starts. */
  readonly stepMicros?: bigint;
  /** Distinguishes the event ids of two calls. */
  readonly seed?: string;
  /** Index of the first row: rows `from` to `from + count - 1` of the same seed are distinct. */
  readonly from?: number;
}

/** `count` rows; a number stands for `{ from }`. The same arguments give the same rows (event ids included). */
export function sampleRows(count: number, fromOrOptions: number | SampleOptions = {}): MetricEvent[] {
  const options = typeof fromOrOptions === 'number' ? { from: fromOrOptions } : fromOrOptions;
  const from = options.from ?? 0;
  const start = options.startMicros ?? 1_772_359_200_123_456n; // 2026-03-01T10:00:00.123456Z
  const step = options.stepMicros ?? 37_001n;
  const seed = options.seed ?? 'sample';
  const rows: MetricEvent[] = [];
  for (let i = from; i < from + count; i++) {
    const [provider, model, scope] = MODELS[i % MODELS.length] as (typeof MODELS)[number];
    const traceId = hex(`${seed}/trace/${Math.floor(i / 4)}`, 32);
    const spanId = hex(`${seed}/span/${i}`, 16);
    const embedding = model.startsWith('text-embedding');
    const tool = i % 7 === 3;
    const image = i % 10 === 0;
    const failed = i % 50 === 49;
    const output = failed ? 0 : 40 + ((i * 13) % 900);
    rows.push(
      fitRow({
        event_id: uuidFrom(`${traceId}/${spanId}`),
        schema_version: SCHEMA_VERSION,
        session_id: `session-${Math.floor(i / 64)}`,
        trace_id: traceId,
        span_id: spanId,
        parent_span_id: i % 4 === 0 ? null : hex(`${seed}/span/${i - (i % 4)}`, 16),
        operation_name: tool
          ? 'execute_tool get_weather'
          : embedding
            ? `embeddings ${model}`
            : `chat ${model}`,
        operation_type: tool ? 'tool_call' : embedding ? 'embedding' : 'llm_call',
        timestamp: epochMicrosToIsoMicros(start + BigInt(i) * step),
        duration_ms: 120 + ((i * 7919) % 40_000) / 10,
        text_char_count: embedding || failed ? null : output * 4,
        text_word_count: embedding || failed ? null : output,
        text_byte_size: embedding || failed ? null : output * 4 + (i % 5),
        text_line_count: embedding || failed ? null : 1 + (i % 12),
        text_custom_metrics: {
          input_tokens: 200 + ((i * 31) % 3000),
          ...(embedding ? {} : { output_tokens: output, total_tokens: 200 + ((i * 31) % 3000) + output }),
          ...(i % 3 === 0 ? { cache_read_tokens: 128 } : {}),
          input_char_count: 800 + ((i * 31) % 12_000),
        },
        image_count: image ? 1 : 0,
        image_total_pixels: image ? 1024 * 768 : null,
        image_file_size_bytes: image ? 180_000 + i : null,
        image_width: image ? 1024 : null,
        image_height: image ? 768 : null,
        image_format: image ? 'png' : null,
        image_custom_metrics: image
          ? {
              images: [
                {
                  side: 'input',
                  format: 'png',
                  width: 1024,
                  height: 768,
                  bytes: 180_000 + i,
                  source: 'blob',
                },
              ],
            }
          : null,
        error: failed ? '429 Rate limit reached for requests' : null,
        error_type: failed ? 'RateLimitError' : null,
        custom_attributes: {
          model,
          provider,
          'service.name': 'checkout-assistant',
          scope,
          span_kind: 'CLIENT',
          ...(i % 2 === 0 ? { user_id: `user-${i % 997}` } : {}),
        },
        model,
        provider,
        input_tokens: 200 + ((i * 31) % 3000),
        output_tokens: embedding ? null : output,
        total_tokens: embedding ? null : 200 + ((i * 31) % 3000) + output,
        cache_read_tokens: i % 3 === 0 ? 128 : null,
        cache_write_tokens: null,
        reasoning_tokens: null,
        cost_usd: null,
        time_to_first_token_ms: null,
        finish_reason: embedding || failed ? null : tool ? 'tool_calls' : 'stop',
        user_id: i % 2 === 0 ? `user-${i % 997}` : null,
        service_name: 'checkout-assistant',
      }),
    );
  }
  return rows;
}

/** Row number `index` of the default sample, with `overrides` laid over it as they are (not fitted). */
export function sampleRow(
  index: number,
  overrides: Partial<Record<keyof MetricEvent, unknown>> = {},
): MetricEvent {
  return { ...(sampleRows(1, index)[0] as MetricEvent), ...overrides } as MetricEvent;
}

/** `count` rows of their own (`seed`), one a second apart from `millis` (epoch milliseconds) on. */
export function sampleRowsAt(seed: string, count: number, millis: number): MetricEvent[] {
  return sampleRows(count, { seed, startMicros: BigInt(millis) * 1000n, stepMicros: 1_000_000n });
}
