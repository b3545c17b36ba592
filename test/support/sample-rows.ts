/**
 * Realistic metric_events rows, already fitted to their columns, for the sink
 * tests and the benchmarks: chat and embedding calls, token counts in JSON,
 * some images, some errors, nulls where a span has no value.
 */
import { randomUUID } from 'node:crypto';
import type { MetricEvent } from '../../src/schema/columns.js';

/** A row with every column set, as the mapping makes them (fitted). */
export function sampleRow(index: number, overrides: Partial<MetricEvent> = {}): MetricEvent {
  const micros = String(index % 1_000_000).padStart(6, '0');
  return {
    event_id: randomUUID(),
    schema_version: '1.0.0',
    session_id: `session-${index % 97}`,
    trace_id: `0af7651916cd43dd8448eb211c8${String(index % 100_000).padStart(5, '0')}`,
    span_id: `b7ad6b71692${String(index % 100_000).padStart(5, '0')}`,
    parent_span_id: index % 3 === 0 ? null : `a1b2c3d4e5f${String(index % 100_000).padStart(5, '0')}`,
    operation_name: index % 2 === 0 ? 'chat gpt-4o' : 'embeddings text-embedding-3-small',
    operation_type: index % 2 === 0 ? 'llm_call' : 'embedding',
    timestamp: `2026-11-28T05:37:55.${micros}Z`,
    duration_ms: 1234.567 + index / 7,
    text_char_count: 120 + index,
    text_word_count: 20,
    text_byte_size: 130,
    text_line_count: 3,
    text_custom_metrics: { input_tokens: 42, output_tokens: 17, total_tokens: 59 },
    image_count: index % 5 === 0 ? 1 : null,
    image_total_pixels: index % 5 === 0 ? 1_048_576 : null,
    image_file_size_bytes: index % 5 === 0 ? 2n ** 60n + BigInt(index) : null,
    image_width: index % 5 === 0 ? 1024 : null,
    image_height: index % 5 === 0 ? 1024 : null,
    image_format: index % 5 === 0 ? 'png' : null,
    image_custom_metrics:
      index % 5 === 0 ? { images: [{ side: 'input', format: 'png', width: 1024 }] } : null,
    error: index % 11 === 0 ? 'Rate limit exceeded' : null,
    error_type: index % 11 === 0 ? 'RateLimitError' : null,
    custom_attributes: { model: 'gpt-4o', provider: 'openai', 'service.name': 'checkout' },
    ...overrides,
  };
}

export function sampleRows(count: number, from = 0): MetricEvent[] {
  return Array.from({ length: count }, (_, i) => sampleRow(from + i));
}
