/**
 * The work on one span is bounded: the mapping reads at most maxMeasuredBytes
 * characters of a span's values in all, each long value from its head up to
 * an equal share (image data in JSON aside: an image is measured from its
 * length and first bytes, whole), and the row names the metrics taken from a
 * prefix in text_custom_metrics.partial_metrics. What is past the bound is never read:
 * a value and another with the same head and any tail map to the same row.
 */
import type { AttributeValue } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { parseBoundedJson } from '../../src/mapping/bounded-json.js';
import { perValueCap } from '../../src/mapping/span-view.js';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import { base64, png } from '../fixtures/images.js';
import { loadCapturedSpans } from '../support/captured-span.js';
import { MemorySink } from '../support/memory-sink.js';

const KIB = 1024;

/** A captured span of `instrumentation`/`scenario` named `name`, its attributes changed as given. */
function captured(
  instrumentation: string,
  scenario: string,
  name: string,
  attributes: Record<string, AttributeValue>,
): ReadableSpan {
  const span = loadCapturedSpans(instrumentation, scenario).find((s) => s.name === name);
  if (!span) throw new Error(`no span ${name} in ${instrumentation}/${scenario}`);
  Object.assign(span.attributes, attributes);
  return span;
}

/** GenAI messages (`{role, parts}`), `count` of them, `role` each, numbered. */
function genAiMessages(count: number, role: string, from = 0): { role: string; parts: unknown[] }[] {
  return Array.from({ length: count }, (_, i) => ({
    role,
    parts: [{ type: 'text', content: `message ${from + i} says hello world.` }],
  }));
}

/** OpenLLMetry 0.27's chat span (GenAI messages) holding the given input and output lists. */
const genAiChat = (input: string, output: string) =>
  captured('openllmetry-openai', 'chat', 'chat gpt-4o-mini', {
    'gen_ai.input.messages': input,
    'gen_ai.output.messages': output,
  });

/** The AI SDK 6 doGenerate span holding the given prompt messages and response text. */
const aiSdkDoGenerate = (messages: string, text: string) =>
  captured('ai6', 'chat', 'ai.generateText.doGenerate', {
    'ai.prompt.messages': messages,
    'ai.response.text': text,
  });

/** The columns and keys the measures land in: what must not depend on what lies past the bound. */
function measures(row: MetricEvent) {
  return {
    text: [row.text_char_count, row.text_word_count, row.text_byte_size, row.text_line_count],
    images: [row.image_count, row.image_width, row.image_height, row.image_file_size_bytes],
    textMetrics: row.text_custom_metrics,
    imageMetrics: row.image_custom_metrics,
  };
}

describe('a span with two message lists past maxMeasuredBytes', () => {
  const budget = 64 * KIB;
  const input = JSON.stringify(genAiMessages(20_000, 'user'));
  const output = JSON.stringify(genAiMessages(20_000, 'assistant'));

  it('measures each from its first maxMeasuredBytes and names the input and text metrics partial', () => {
    expect(input.length).toBeGreaterThan(10 * budget);
    const row = toMetricEvent(genAiChat(input, output), { maxMeasuredBytes: budget })!;
    expect(row.text_custom_metrics).toMatchObject({ partial_metrics: ['input_*', 'text_*', 'image_*'] });
    expect(row.text_char_count).toBeGreaterThan(0);
    expect(row.text_byte_size).toBeLessThanOrEqual(budget);
    expect(row.text_custom_metrics?.['input_byte_size']).toBeLessThanOrEqual(budget);
    expect(row.text_custom_metrics).toMatchObject({ input_tokens: 23, output_tokens: 14 });
  });

  it('maps to the same row whatever lies past the bound: more messages, or no JSON at all', () => {
    const options = { maxMeasuredBytes: budget };
    const row = toMetricEvent(genAiChat(input, output), options)!;
    const longer = JSON.stringify([...genAiMessages(20_000, 'user'), ...genAiMessages(50_000, 'user', 7)]);
    const broken = `${input.slice(0, 2 * budget)}\u0000 not JSON {{{`;
    for (const tail of [longer, broken]) {
      expect(
        measures(toMetricEvent(genAiChat(tail, tail.replaceAll('user', 'assistant')), options)!),
      ).toEqual(measures(row));
    }
  });

  it('measures them whole, with nothing partial, under a bound above their length', () => {
    const row = toMetricEvent(genAiChat(input, output), { maxMeasuredBytes: 4 * input.length })!;
    expect(row.text_custom_metrics).not.toHaveProperty('partial_metrics');
    expect(row.text_line_count).toBe(20_000);
  });

  it('reads at most maxMeasuredBytes of the span in all, however many long values it holds', () => {
    const lists = Array.from({ length: 6 }, (_, i) => JSON.stringify(genAiMessages(5_000, 'user', i)));
    const span = genAiChat(lists[0] as string, lists[1] as string);
    lists.slice(2).forEach((list, i) => (span.attributes[`gen_ai.extra.list.${i}`] = list));
    const cap = perValueCap(span.attributes, budget);
    expect(cap * lists.length).toBeLessThanOrEqual(budget);
    const row = toMetricEvent(span, { maxMeasuredBytes: budget })!;
    expect(row.text_byte_size).toBeLessThanOrEqual(cap);
    expect(row.text_custom_metrics?.['input_byte_size']).toBeLessThanOrEqual(cap);
  });

  it('is bounded by 1 MiB by default', () => {
    const big = JSON.stringify(genAiMessages(60_000, 'assistant'));
    expect(big.length).toBeGreaterThan(2 * 1024 * KIB);
    const row = toMetricEvent(genAiChat('[]', big))!;
    expect(row.text_byte_size).toBeLessThanOrEqual(1024 * KIB);
    expect(row.text_custom_metrics).toMatchObject({ partial_metrics: ['text_*', 'image_*'] });
  });
});

describe('an AI SDK span with its prompt and its response text past maxMeasuredBytes', () => {
  it('measures the text and the prompt each from an equal share of maxMeasuredBytes, both partial', () => {
    const budget = 32 * KIB;
    const messages = JSON.stringify(
      Array.from({ length: 5_000 }, (_, i) => ({
        role: 'user',
        content: [{ type: 'text', text: `q${i} ok` }],
      })),
    );
    const text = 'lorem ipsum dolor sit amet '.repeat(10_000);
    const span = aiSdkDoGenerate(messages, text);
    const row = toMetricEvent(span, { maxMeasuredBytes: budget })!;
    // Two values past the budget share it: each is read up to the same cap, half of it at most.
    const cap = perValueCap(span.attributes, budget);
    expect(cap).toBeLessThanOrEqual(budget / 2);
    expect(cap).toBeGreaterThan(budget / 4);
    // The response text is ASCII: its first `cap` characters are `cap` bytes.
    expect([row.text_char_count, row.text_byte_size]).toEqual([cap, cap]);
    // The images are looked for in the same prompt: those past the bound were not seen.
    expect(row.text_custom_metrics).toMatchObject({ partial_metrics: ['input_*', 'text_*', 'image_*'] });
    expect(row.text_custom_metrics?.['input_line_count']).toBeLessThan(5_000);
  });
});

describe('images inside a value past maxMeasuredBytes', () => {
  const budget = 16 * KIB;
  const bigPng = png(300, 200);
  const blob = (bytes: Buffer) => ({
    type: 'blob',
    modality: 'image',
    mime_type: 'image/png',
    content: base64(bytes),
  });
  const dataUrlPart = (bytes: Buffer) => ({
    type: 'image_url',
    image_url: { url: `data:image/png;base64,${base64(bytes)}` },
  });

  it('measures an image far longer than the bound whole and exact, the row not partial', () => {
    // Noise after the image header makes the base64 long: the image is 64 KiB, four times the bound.
    const padded = Buffer.concat([bigPng, Buffer.alloc(64 * KIB, 7)]);
    const input = JSON.stringify([
      {
        role: 'user',
        parts: [{ type: 'text', content: 'What is this?' }, blob(padded), dataUrlPart(png(5, 4))],
      },
    ]);
    expect(input.length).toBeGreaterThan(4 * budget);
    const row = toMetricEvent(genAiChat(input, '[]'), { maxMeasuredBytes: budget })!;
    expect([row.image_count, row.image_width, row.image_height]).toEqual([2, 300, 200]);
    expect(row.image_file_size_bytes).toBe(padded.length + png(5, 4).length);
    expect(row.text_custom_metrics).not.toHaveProperty('partial_metrics');
  });

  it('names the image metrics partial when text past the bound hides a later image', () => {
    const input = JSON.stringify([
      ...genAiMessages(2_000, 'user'),
      { role: 'user', parts: [blob(png(5, 4))] },
    ]);
    const row = toMetricEvent(genAiChat(input, '[]'), { maxMeasuredBytes: budget })!;
    expect(row.image_count).toBeNull();
    expect(row.text_custom_metrics).toMatchObject({ partial_metrics: ['input_*', 'image_*'] });
  });
});

describe('parseBoundedJson', () => {
  it('reads no more than its budget of a long document, whatever its size', () => {
    const document = JSON.stringify(genAiMessages(50_000, 'user'));
    for (const budget of [1, 100, 4 * KIB, 64 * KIB]) {
      const parsed = parseBoundedJson(document, budget);
      expect(parsed?.cut).toBe(true);
      expect(parsed?.read).toBeLessThanOrEqual(budget);
    }
  });

  it('parses a document within its budget as JSON.parse does', () => {
    const document = JSON.stringify({ a: [1, -2.5e3, true, null, 'x"\\y'], b: { c: '\u00e9🦙' } });
    expect(parseBoundedJson(document, document.length)).toEqual({
      value: JSON.parse(document),
      cut: false,
      read: document.length,
    });
  });

  it.each([
    ['inside a key', '{"alpha": 1, "beta": 2}', 16, { alpha: 1 }],
    ['after a colon', '{"alpha": 1, "beta": 2}', 20, { alpha: 1 }],
    ['inside a number', '[1, 2, 12345]', 10, [1, 2]],
    ['inside a string', '["abcdef"]', 5, ['abc']],
    ['inside an escape', '["ab\\u00e9cd"]', 7, ['ab']],
    ['after an escaped quote', '["a\\"bcd"]', 5, ['a"']],
    ['between the halves of a surrogate pair', '["a🦙b"]', 4, ['a']],
    ['inside a nested object', '[{"a": {"b": [1, 2, 3]}}]', 19, [{ a: { b: [1, 2] } }]],
  ])('closes a document cut %s', (_where, document, budget, expected) => {
    expect(parseBoundedJson(document, budget)?.value).toEqual(expected);
  });

  it('steps over image data without counting it and puts it back whole, in arrays and objects', () => {
    const image = base64(Buffer.alloc(8 * KIB, 3));
    const document = JSON.stringify({
      parts: [
        { type: 'blob', content: image },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } },
      ],
      text: 'x'.repeat(500),
    });
    const parsed = parseBoundedJson(document, 400)!;
    expect(parsed.read).toBeLessThanOrEqual(400);
    const value = parsed.value as { parts: [{ content: string }, { image_url: { url: string } }] };
    expect(value.parts[0].content).toBe(image);
    expect(value.parts[1].image_url.url).toBe(`data:image/png;base64,${image}`);
    expect(parsed.cut).toBe(true);
  });

  it('reads a long string with an escape as text, within the budget', () => {
    const document = JSON.stringify([`${'A'.repeat(2 * KIB)}\n${'B'.repeat(2 * KIB)}`]);
    const parsed = parseBoundedJson(document, KIB)!;
    expect((parsed.value as string[])[0]).toHaveLength(KIB - 2);
    expect(parsed.read).toBe(KIB);
  });

  it('never throws, never reads past its budget, and parses a document it reads whole as JSON.parse does', () => {
    const image = `data:image/png;base64,${'Q'.repeat(1500)}`;
    const json = fc
      .tuple(fc.jsonValue({ maxDepth: 4 }), fc.boolean())
      .map(([value, withImage]) => (withImage ? [value, image] : value));
    fc.assert(
      fc.property(json, fc.nat({ max: 400 }), fc.boolean(), (value, budget, pretty) => {
        const document = JSON.stringify(value, null, pretty ? 2 : undefined);
        const parsed = parseBoundedJson(document, Math.max(1, budget));
        if (parsed === undefined) return;
        expect(parsed.read).toBeLessThanOrEqual(Math.max(1, budget));
        if (!parsed.cut) expect(parsed.value).toEqual(JSON.parse(document));
      }),
      { numRuns: 500, seed: 12 },
    );
  });

  it('gives undefined for text that is not JSON', () => {
    expect(parseBoundedJson(`{"a": 1x, "b": "${'y'.repeat(100)}"}`, 50)).toBeUndefined();
    expect(parseBoundedJson('}{', 1)).toBeUndefined();
  });
});

describe('the exporter', () => {
  it('maps with its maxMeasuredBytes option', async () => {
    const spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-bounded-'));
    try {
      const sink = new MemorySink();
      const exporter = MetricEventsSpanExporter.withSink(sink, { spillDir, maxMeasuredBytes: 2 * KIB });
      const span = genAiChat('[]', JSON.stringify(genAiMessages(200, 'assistant')));
      const result = await new Promise<{ code: ExportResultCode }>((resolve) =>
        exporter.export([span], resolve),
      );
      expect(result.code).toBe(ExportResultCode.SUCCESS);
      expect(sink.rows[0]?.text_byte_size).toBeLessThanOrEqual(2 * KIB);
      expect(sink.rows[0]?.text_custom_metrics).toMatchObject({ partial_metrics: ['text_*', 'image_*'] });
      await exporter.shutdown();
    } finally {
      await rm(spillDir, { recursive: true, force: true });
    }
  });
});
