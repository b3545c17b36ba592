/**
 * Bad input never stops the mapping: each hostile value still yields a row,
 * with nulls where nothing could be measured and strings cut to their column.
 */
import type { Attributes } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import type { SpanLike } from '../../src/mapping/span-like.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import { base64, png } from '../fixtures/images.js';
import { recordSpans } from '../fixtures/spans/record.js';

function rowOf(attributes: Attributes, name = 'chat gpt-4o'): MetricEvent {
  const [span] = recordSpans({ scope: { name: 'test' } }, (tracer) => {
    tracer.startSpan(name, { attributes: { 'gen_ai.operation.name': 'chat', ...attributes } }).end();
  });
  return toMetricEvent(span!, { captureContent: true })!;
}

const output = (text: string) =>
  JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: text }] }]);

describe('hostile values', () => {
  it('replaces lone surrogates in text and keys, and counts each as one character', () => {
    const event = rowOf({
      'gen_ai.output.messages': output('a\ud800b'),
      'llamonitor.attr.k\udc00': 'v\ud800',
    });
    expect(event.text_char_count).toBe(3);
    expect(event.custom_attributes).toMatchObject({ 'k\ufffd': 'v\ufffd', completion: 'a\ufffdb' });
  });

  it('strips NUL from stored strings', () => {
    const event = rowOf({ 'gen_ai.output.messages': output('x\0y') }, 'chat\0model');
    expect(event.operation_name).toBe('chatmodel');
    expect(event.custom_attributes?.['completion']).toBe('xy');
  });

  it('stores NaN and Infinity token counts as null, named under invalid_values', () => {
    const event = rowOf({ 'gen_ai.usage.input_tokens': NaN, 'gen_ai.usage.output_tokens': Infinity });
    expect(event.text_custom_metrics).toEqual({
      input_tokens: null,
      output_tokens: null,
      invalid_values: { 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.output_tokens': 1 },
    });
  });

  it('stores a user metric of NaN as null, named under invalid_values', () => {
    expect(rowOf({ 'llamonitor.text.score': NaN }).text_custom_metrics).toEqual({
      score: null,
      invalid_values: { 'llamonitor.text.score': 1 },
    });
  });

  it('measures the first maxMeasuredBytes of a 10 MB output, marks the text metrics partial and bounds the captured completion', () => {
    const huge = 'word '.repeat(2 * 1024 * 1024);
    const event = rowOf({ 'gen_ai.output.messages': output(huge) });
    // The budget less the JSON before the text: `output('')` ends with the text's two quotes and `}]}]`.
    const kept = 1024 * 1024 - (output('').length - 5);
    expect([event.text_char_count, event.text_byte_size]).toEqual([kept, kept]);
    // The images were looked for in the same cut attribute: those past the cut were not seen.
    expect(event.text_custom_metrics).toMatchObject({ partial_metrics: ['text_*', 'image_*'] });
    expect(event.custom_attributes).toMatchObject({ completion_truncated: true });
    expect(String(event.custom_attributes?.['completion']).length).toBe(8192);
  });

  it('measures a 10 MB output whole under a maxMeasuredBytes above it', () => {
    const huge = 'word '.repeat(2 * 1024 * 1024);
    const [span] = recordSpans({ scope: { name: 'test' } }, (tracer) => {
      tracer
        .startSpan('chat', {
          attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.output.messages': output(huge) },
        })
        .end();
    });
    const event = toMetricEvent(span!, { maxMeasuredBytes: 16 * 1024 * 1024 })!;
    expect([event.text_char_count, event.text_word_count]).toEqual([huge.length, 2 * 1024 * 1024]);
    expect(event.text_custom_metrics).toBeNull();
  });

  it('leaves text columns null for invalid JSON in a messages attribute', () => {
    const event = rowOf({
      'gen_ai.output.messages': '[{"role":"assistant","parts":[{"type":"text","content":"cut',
    });
    expect([event.text_char_count, event.error]).toEqual([null, null]);
  });

  it('keeps the format and byte count of truncated base64 image data, with null size', () => {
    const truncated = base64(png(4, 4)).slice(0, 12); // signature only, no IHDR
    const event = rowOf({
      'gen_ai.input.messages': JSON.stringify([
        { role: 'user', parts: [{ type: 'blob', modality: 'image', content: truncated }] },
      ]),
    });
    expect(event).toMatchObject({
      image_count: 1,
      image_format: 'png',
      image_width: null,
      image_file_size_bytes: 9,
    });
  });

  it('gives null size for base64 that says image/png but holds no image', () => {
    const event = rowOf({
      'gen_ai.input.messages': JSON.stringify([
        {
          role: 'user',
          parts: [
            {
              type: 'blob',
              mime_type: 'image/png',
              content: Buffer.from('not an image at all').toString('base64'),
            },
          ],
        },
      ]),
    });
    expect(event).toMatchObject({
      image_count: 1,
      image_format: null,
      image_width: null,
      image_height: null,
    });
  });

  it('gives null size for a PNG header that claims a zero width', () => {
    const lying = png(1, 1);
    lying.writeUInt32BE(0, 16);
    const event = rowOf({
      'gen_ai.input.messages': JSON.stringify([
        { role: 'user', parts: [{ type: 'blob', modality: 'image', content: base64(lying) }] },
      ]),
    });
    expect([event.image_format, event.image_width, event.image_total_pixels]).toEqual(['png', null, null]);
  });

  it('cuts a session id of 300 emoji to 255 code points', () => {
    const event = rowOf({ 'session.id': '🦙'.repeat(300) });
    expect([...event.session_id]).toHaveLength(255);
    expect(event.session_id.isWellFormed()).toBe(true);
  });

  it('produces a row from a span whose getters throw', () => {
    const hostile = {
      name: 'chat',
      kind: 0,
      spanContext: () => ({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: 1,
      }),
      get attributes(): Attributes {
        throw new Error('boom');
      },
      get events(): never {
        throw new Error('boom');
      },
      status: { code: 2, message: 'failed' },
      startTime: [NaN, 0],
      endTime: [1_764_308_275, 0],
      duration: [Infinity, 0],
    } as unknown as SpanLike;
    const event = toMetricEvent(hostile, { spans: 'all' })!;
    expect(event).toMatchObject({
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      error: 'failed',
      duration_ms: null,
      timestamp: '2025-11-28T05:37:55.000000Z',
    });
  });

  it('reads by name the attributes of a span whose attribute keys cannot be listed', () => {
    const [span] = recordSpans({ scope: { name: 'test' } }, (tracer) => tracer.startSpan('chat').end());
    const attributes = new Proxy(
      { 'gen_ai.operation.name': 'chat', 'session.id': 'session-1' },
      {
        ownKeys() {
          throw new Error('boom');
        },
      },
    );
    const hostile = Object.assign(Object.create(span!) as SpanLike, { attributes });
    expect(toMetricEvent(hostile, { spans: 'all' })).toMatchObject({
      operation_type: 'llm_call',
      session_id: 'session-1',
    });
  });

  it('the bare row of a span the mapping fails on is stamped with the span start, the same each time', () => {
    const hostile = {
      get name(): string {
        throw new Error('boom');
      },
      spanContext: () => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' }),
      startTime: [1_764_308_275, 123_456_000],
      endTime: [1_764_308_276, 0],
    } as unknown as SpanLike;
    const first = toMetricEvent(hostile, { spans: 'all' })!;
    expect(first).toMatchObject({
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      operation_name: '',
      operation_type: 'other',
      // A time-partitioned table keys rows by (event_id, timestamp): sent again, the row must match.
      timestamp: '2025-11-28T05:37:55.123456Z',
    });
    expect(toMetricEvent(hostile, { spans: 'all' })).toEqual(first);
  });

  it('never throws on a span that is not a span at all', () => {
    expect(() => toMetricEvent({} as SpanLike, { spans: 'all' })).not.toThrow();
    expect(toMetricEvent({} as SpanLike, { spans: 'all' })?.operation_type).toBe('other');
  });
});
