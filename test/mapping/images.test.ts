/**
 * Images are measured from their header wherever a convention puts them,
 * counted once per span, and a URI-only image counts with a null size.
 */
import type { Attributes } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { imageFromDeclaredString } from '../../src/mapping/image-data.js';
import { readImageHeader } from '../../src/mapping/image-header.js';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import {
  base64,
  dataUrl,
  gif6x2,
  jpeg5x3,
  jpegWithLargeExif7x4,
  png,
  webpLossless3x8,
  webpLossy9x5,
} from '../fixtures/images.js';
import { recordSpans } from '../fixtures/spans/record.js';

function chatRow(attributes: Attributes): MetricEvent {
  const [span] = recordSpans({ scope: { name: 'test' } }, (tracer) => {
    tracer.startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', ...attributes } }).end();
  });
  return toMetricEvent(span!)!;
}

const userMessage = (...parts: unknown[]) => JSON.stringify([{ role: 'user', parts }]);

describe('image headers', () => {
  it.each([
    ['png', png(13, 7), 13, 7],
    ['jpeg', jpeg5x3(), 5, 3],
    ['gif', gif6x2(), 6, 2],
    ['webp', webpLossy9x5(), 9, 5],
    ['webp', webpLossless3x8(), 3, 8],
  ])('reads a %s image’s size from its first bytes', (format, bytes, width, height) => {
    expect(readImageHeader(bytes.subarray(0, 1024))).toEqual({ format, width, height });
  });

  it('finds a JPEG’s frame header behind 70 KB of metadata', () => {
    const event = chatRow({
      'gen_ai.input.messages': userMessage({
        type: 'blob',
        modality: 'image',
        mime_type: 'image/jpeg',
        content: base64(jpegWithLargeExif7x4()),
      }),
    });
    expect([event.image_width, event.image_height]).toEqual([7, 4]);
  });
});

describe('declared image strings', () => {
  it.each([
    ['https://example.com/cat.png', 'uri'],
    ['gs://bucket/cat.png', 'uri'],
    ['file-abc123', 'uri'],
    ['1http://not-a-scheme', 'uri'],
    ['iVBORw0KGgoAAAANSUhEUgAAAAQAAAAD', 'base64'],
    ['iVBORw0KGgo=\r\nAAAANSUhEUg==', 'base64'],
    [`${'A'.repeat(300)}:`, 'base64'],
    [`a${'b'.repeat(32)}:rest`, 'uri'],
  ])('%s is declared a %s image', (text, kind) => {
    expect(imageFromDeclaredString(text)?.kind).toBe(kind);
  });
});

describe('where images are found', () => {
  it('sums count, pixels and bytes over a GenAI blob, an image_url data URL and an Anthropic base64 source', () => {
    const [a, b, c] = [png(4, 3), gif6x2(), jpeg5x3()];
    const event = chatRow({
      'gen_ai.input.messages': userMessage(
        { type: 'blob', modality: 'image', mime_type: 'image/png', content: base64(a) },
        { type: 'image_url', image_url: { url: dataUrl('image/gif', b) } },
        { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: base64(c) } },
      ),
    });
    expect(event).toMatchObject({
      image_count: 3,
      image_total_pixels: 4 * 3 + 6 * 2 + 5 * 3,
      image_file_size_bytes: a.length + b.length + c.length,
      image_format: 'png',
    });
  });

  it('lists one entry per image with side, format, size, bytes and source', () => {
    const event = chatRow({
      'gen_ai.output.messages': JSON.stringify([
        { role: 'assistant', parts: [{ type: 'blob', modality: 'image', content: base64(gif6x2()) }] },
      ]),
    });
    expect(event.image_custom_metrics).toEqual({
      images: [
        {
          side: 'output',
          format: 'gif',
          width: 6,
          height: 2,
          bytes: gif6x2().length,
          source: 'gen_ai.output.messages',
        },
      ],
    });
  });

  it('measures raw base64 that OpenLLMetry labels as a uri part', () => {
    const event = chatRow({
      'gen_ai.input.messages': userMessage({ type: 'uri', modality: 'image', uri: base64(png(2, 9)) }),
    });
    expect([event.image_width, event.image_height]).toEqual([2, 9]);
  });

  it('counts a true URI image with null size', () => {
    const event = chatRow({
      'gen_ai.input.messages': userMessage({
        type: 'uri',
        modality: 'image',
        uri: 'https://example.com/cat.png',
      }),
    });
    expect(event).toMatchObject({
      image_count: 1,
      image_width: null,
      image_total_pixels: null,
      image_file_size_bytes: null,
    });
  });

  it('reads the size of base64 broken by line breaks, whose first characters hold few bytes', () => {
    const wrapped = base64(png(40, 30)).replace(/(.)/g, '$1\r\n');
    const event = chatRow({
      'gen_ai.input.messages': userMessage({ type: 'blob', mime_type: 'image/png', content: wrapped }),
    });
    expect([event.image_format, event.image_width, event.image_height]).toEqual(['png', 40, 30]);
  });

  it('counts an image only once when the span carries it in two attributes', () => {
    const image = png(5, 5);
    const event = chatRow({
      'gen_ai.input.messages': userMessage({ type: 'blob', modality: 'image', content: base64(image) }),
      'ai.prompt': JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'image', image }] }] }),
    });
    expect(event.image_count).toBe(1);
  });

  it('counts two different images of the same size and length twice', () => {
    const first = png(5, 5);
    const second = Buffer.from(first);
    second[second.length - 20] = 0xff - (second[second.length - 20] ?? 0); // different pixel data, same header and length
    const event = chatRow({
      'gen_ai.input.messages': userMessage(
        { type: 'blob', modality: 'image', content: base64(first) },
        { type: 'blob', modality: 'image', content: base64(second) },
      ),
    });
    expect(event.image_count).toBe(2);
  });

  it('ignores audio blobs', () => {
    const event = chatRow({
      'gen_ai.input.messages': userMessage({
        type: 'blob',
        modality: 'audio',
        mime_type: 'audio/wav',
        content: 'UklGRiQAAABXQVZF',
      }),
    });
    expect(event.image_count).toBeNull();
  });

  it('finds a data URL left inside a text part', () => {
    const event = chatRow({
      'gen_ai.input.messages': userMessage({
        type: 'text',
        content: `look: ${dataUrl('image/png', png(3, 3))} ok`,
      }),
    });
    expect([event.image_count, event.image_width]).toEqual([1, 3]);
  });

  it('counts an image the Anthropic SDK replaced by {"type":"anthropic_image"}, unmeasured', () => {
    const event = chatRow({
      'gen_ai.input.messages': JSON.stringify([{ role: 'user', content: [{ type: 'anthropic_image' }] }]),
    });
    expect([event.image_count, event.image_width]).toEqual([1, null]);
  });

  it('counts a redacted OpenInference image when input.value holds no image, unmeasured', () => {
    const event = chatRow({
      'openinference.span.kind': 'LLM',
      'llm.input_messages.0.message.contents.0.message_content.image.image.url': '__REDACTED__',
    });
    expect([event.image_count, event.image_width]).toEqual([1, null]);
  });
});
