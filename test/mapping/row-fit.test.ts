/**
 * The mapping builds rows that already fit their columns and so skips fitRow's
 * copy and deep walk: fitRow must find nothing to change in any row the
 * mapping builds, from real span shapes or from hostile values.
 */
import type { Attributes } from '@opentelemetry/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MappingOptions, SpanLike } from '../../src/mapping/span-like.js';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import { fitRow } from '../../src/schema/fit-row.js';
import { base64, dataUrl, png } from '../fixtures/images.js';
import { everyFixtureSpan } from '../fixtures/spans/all.js';

const unchangedByFitRow = (span: SpanLike, options: MappingOptions) => {
  const row = toMetricEvent(span, options);
  if (row !== undefined) expect(fitRow(row as unknown as Record<string, unknown>)).toStrictEqual(row);
};

/** Keys of every convention, user-keyed groups included, some with hostile suffixes. */
const KEYS = [
  'gen_ai.operation.name',
  'gen_ai.request.model',
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.prompt.0.content',
  'gen_ai.completion.0.content',
  'session.id',
  'user.id',
  'error.type',
  'langfuse.observation.usage_details',
  'langfuse.trace.metadata.k\ud800',
  'traceloop.association.properties.session_id',
  'traceloop.entity.output',
  'llm.model_name',
  'llm.token_count.total',
  'llm.input_messages.0.message.contents.0.message_content.image.image.url',
  'llm.output_messages.0.message.content',
  'input.value',
  'metadata',
  'ai.operationId',
  'ai.prompt.messages',
  'ai.response.text',
  'ai.usage.tokens',
  'ai.telemetry.metadata.note',
  'llamonitor.text.score\0',
  'llamonitor.image.k\udc00',
  'llamonitor.attr.team',
];

const image = png(4, 3);
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom(
    'a\ud800b',
    'x\0y',
    '🦙'.repeat(300),
    'constructor',
    '__REDACTED__',
    dataUrl('image/png', image),
    JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'hi\ud800\0' }] }]),
    JSON.stringify([
      { role: 'user', parts: [{ type: 'blob', mime_type: 'image/png\0', content: base64(image) }] },
    ]),
    JSON.stringify({ input: 1e308, output: 1e308, 'k\ud800': ['\0', { deep: [1] }] }),
  ),
);
const hostileValue = fc.oneof(
  hostileString,
  fc.constantFrom(NaN, Infinity, -1, 2 ** 53 + 2, 1.5, true),
  fc.array(fc.oneof(hostileString, fc.double(), fc.constant(null)), { maxLength: 3 }),
);
const hostileAttributes = fc.dictionary(
  fc.oneof(fc.constantFrom(...KEYS), fc.string({ unit: 'binary', maxLength: 12 })),
  hostileValue,
  { maxKeys: 10 },
);

const hostileSpan = fc
  .record({
    name: hostileString,
    attributes: hostileAttributes,
    resource: hostileAttributes,
    ids: fc.constantFrom(
      ['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331'],
      ['x\ud800'.repeat(200), 'y\0'],
    ),
    statusMessage: fc.option(hostileString),
    exceptionType: fc.option(hostileValue),
    startTime: fc.constantFrom([1_764_308_275, 123_456_789], [NaN, 0], [1e20, 0]),
    duration: fc.constantFrom([0, 5_000_000], [Infinity, 0], [-1, 0]),
  })
  .map((r): SpanLike => ({
    name: r.name,
    kind: 2,
    spanContext: () => ({ traceId: r.ids[0]!, spanId: r.ids[1]!, traceFlags: 1 }),
    parentSpanContext: { traceId: r.ids[0]!, spanId: r.ids[1]!, traceFlags: 1 },
    startTime: r.startTime as [number, number],
    endTime: [1_764_308_276, 0],
    duration: r.duration as [number, number],
    status: { code: 2, message: r.statusMessage ?? undefined },
    attributes: r.attributes as Attributes,
    events: [
      { name: 'exception', attributes: { 'exception.type': r.exceptionType ?? undefined } as Attributes },
    ],
    resource: { attributes: r.resource as Attributes },
    instrumentationScope: { name: r.name },
  }));

describe('rows fit by construction', () => {
  it('builds every fixture span’s row as fitRow would leave it', () => {
    for (const span of everyFixtureSpan()) unchangedByFitRow(span, { spans: 'all', captureContent: true });
  });

  it('builds the row of a span of hostile values as fitRow would leave it', () => {
    fc.assert(
      fc.property(hostileSpan, fc.boolean(), (span, captureContent) =>
        unchangedByFitRow(span, { spans: 'all', captureContent, inheritedSessionId: 'inherited\ud800' }),
      ),
      { numRuns: 400, seed: 7 },
    );
  });
});
