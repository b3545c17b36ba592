/**
 * The row's image_width / image_height / image_format are the request's first
 * image, for spans of the real OpenInference OpenAI instrumentation: two
 * images in one message, one of them over the 32,000 base64 characters past
 * which OpenInference redacts an image in `llm.input_messages`.
 */
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import { openAIClient } from '../support/capture/openai-scenarios.js';
import { startCaptureTracing, type CaptureTracing } from '../support/capture/tracing.js';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server.js';
import { LARGE_PNG, LARGE_PNG_HEIGHT, LARGE_PNG_WIDTH, makePng, pngDataUrl } from '../support/png.js';

const SMALL_A = makePng(5, 2, () => [10, 20, 30]);
const SMALL_B = makePng(7, 9, () => [200, 20, 30]);
const REDACTED_KEY = 'llm.input_messages.0.message.contents.1.message_content.image.image.url';

let server: FakeLlmServer;
let tracing: CaptureTracing;
let instrumentation: OpenAIInstrumentation;

beforeAll(async () => {
  server = await startFakeLlmServer();
  tracing = startCaptureTracing();
  instrumentation = new OpenAIInstrumentation();
  registerInstrumentations({ tracerProvider: tracing.provider, instrumentations: [instrumentation] });
});

afterAll(async () => {
  instrumentation.disable();
  await tracing.shutdown();
  await server.close();
});

/** The one span of a chat completion that sends `first` then `second` in one user message. */
async function twoImageSpan(first: Buffer, second: Buffer): Promise<ReadableSpan> {
  await openAIClient(server).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What differs between these two?' },
          { type: 'image_url', image_url: { url: pngDataUrl(first) } },
          { type: 'image_url', image_url: { url: pngDataUrl(second) } },
        ],
      },
    ],
  });
  const { spans } = await tracing.take();
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

describe('OpenInference: the first of two images', () => {
  it('sizes the row by the first image when both are in the messages', async () => {
    const row = toMetricEvent(await twoImageSpan(SMALL_A, SMALL_B))!;
    expect([row.image_count, row.image_width, row.image_height]).toEqual([2, 5, 2]);
    expect(row.image_total_pixels).toBe(5 * 2 + 7 * 9);
  });

  it('sizes the row by the first image when OpenInference redacted it and kept the second', async () => {
    const span = await twoImageSpan(LARGE_PNG, SMALL_B);
    // The shape that misled the mapping: the first image redacted, the second still in the messages.
    expect(span.attributes[REDACTED_KEY]).toBe('__REDACTED__');
    const row = toMetricEvent(span)!;
    expect([row.image_count, row.image_width, row.image_height]).toEqual([
      2,
      LARGE_PNG_WIDTH,
      LARGE_PNG_HEIGHT,
    ]);
    expect(row.image_total_pixels).toBe(LARGE_PNG_WIDTH * LARGE_PNG_HEIGHT + 7 * 9);
    const listed = (row.image_custom_metrics?.['images'] ?? []) as { width: number }[];
    expect(listed.map((image) => image.width)).toEqual([LARGE_PNG_WIDTH, 7]);
  });

  it('sizes the row by the first image when the second is the redacted one', async () => {
    const row = toMetricEvent(await twoImageSpan(SMALL_A, LARGE_PNG))!;
    expect([row.image_count, row.image_width, row.image_height]).toEqual([2, 5, 2]);
  });
});
