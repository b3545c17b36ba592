/**
 * fast-check arbitraries of hostile spans: what a buggy instrumentation, a
 * user's own attributes or an attacker's prompt can put on a span. Huge
 * strings, lone surrogates, NUL and control characters, NaN and infinities,
 * deep arrays, invalid JSON where a convention expects JSON, broken and lying
 * image headers, ids of the wrong length, times outside any calendar.
 */
import {
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type AttributeValue,
  type HrTime,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';

/** Characters that break encoders: escapes of the bulk formats, NUL, controls, surrogates, separators. */
const HOSTILE_CHARS = [
  '\0', '\t', '\n', '\r', '\\', '\\N', '\\.', '"', "'", '`', ',', ';', '|', '\u0001', '\u0008', '\u001b',
  '\u007f', '\u0085', '\u00a0', '\u2028', '\u2029', '\ufeff', '\uffff', '\ud800', '\udbff', '\udc00', '\udfff',
  '🦙', '𝕏', 'é', 'ﷺ', '\u200d', 'NULL', 'null', '\\\\N',
]; // prettier-ignore

const hostileUnit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_CHARS) },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) },
);

/** Short hostile text; now and then a huge one (up to 2 MB). */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 60, arbitrary: fc.string({ unit: hostileUnit, maxLength: 40 }) },
  { weight: 8, arbitrary: fc.string({ unit: hostileUnit, minLength: 200, maxLength: 2_000 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.string({ unit: hostileUnit, minLength: 1, maxLength: 8 }),
        fc.integer({ min: 10_000, max: 125_000 }),
      )
      .map(([piece, times]) => piece.repeat(times)),
  },
);

const hostileNumber = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 2 ** 53 + 1, -(2 ** 63), 1e308, 5e-324, 2 ** 31, -1),
  fc.double(),
  fc.integer(),
);

const hostileValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  { weight: 6, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.array(hostileNumber, { maxLength: 6 }) },
  // what no SDK would let through, but a hand-built span can hold
  { weight: 1, arbitrary: fc.constantFrom(null, undefined) as unknown as fc.Arbitrary<AttributeValue> },
);

/** Arrays nested `depth` deep, as JSON text: `[[[...]]]`. */
const deepJson = fc.integer({ min: 10, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth));

const invalidJson = fc.oneof(
  fc.constantFrom(
    '{',
    '[',
    '[{"role":"user","parts":[{"type":"text","content":"cut',
    '{"a":NaN}',
    '[1,]',
    "{'single':'quotes'}",
    'undefined',
    '"\\ud800"',
    '[{"role":"assistant","parts":null}]',
    '[{"role":"assistant","parts":[{"type":"text","content":{"not":"text"}}]}]',
    '[{"role":"user","content":[{"type":"image_url","image_url":null}]}]',
  ),
  deepJson.map((json) => json.slice(0, -1)), // one bracket short
  hostileString,
);

function png(width: number, height: number, rest = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header);
  header.writeUInt32BE(13, 8);
  header.write('IHDR', 12, 'ascii');
  header.writeUInt32BE(width >>> 0, 16);
  header.writeUInt32BE(height >>> 0, 20);
  header[24] = 8;
  header[25] = 2;
  return Buffer.concat([header, rest]);
}

/** Image bytes whose header is broken or lies: sizes of 0 or 2^32-1, truncated headers, a wrong magic. */
const hostileImageBytes = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
    .map(([w, h]) => png(w, h)),
  fc.constantFrom(
    png(0xffffffff, 0xffffffff),
    png(0, 0),
    png(1, 1).subarray(0, 12), // signature, no IHDR
    Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x02]), // a JPEG frame header cut short
    Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff]), // an APP1 segment claiming 64 KB that is not there
    Buffer.from('GIF89a\xff\xff\xff\xff', 'latin1'),
    Buffer.from('RIFF\xff\xff\xff\xffWEBPVP8X', 'latin1'),
    Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8L\x00', 'latin1'),
    Buffer.alloc(0),
  ),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);

const base64Data = fc.oneof(
  { weight: 4, arbitrary: hostileImageBytes.map((b) => b.toString('base64')) },
  { weight: 1, arbitrary: hostileString }, // not base64 at all
  { weight: 1, arbitrary: hostileImageBytes.map((b) => b.toString('base64').replace(/.$/, '!')) },
);
const mimeType = fc.constantFrom(
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/x-nonsense',
  '',
  'text/plain',
);

/** A GenAI messages attribute whose parts carry hostile text and images. */
const genAiMessages = fc
  .array(
    fc.oneof(
      hostileString.map((content) => ({ type: 'text', content })),
      fc
        .tuple(mimeType, base64Data)
        .map(([mime_type, content]) => ({ type: 'blob', modality: 'image', mime_type, content })),
      fc
        .tuple(mimeType, base64Data)
        .map(([mime, data]) => ({ type: 'uri', modality: 'image', uri: `data:${mime};base64,${data}` })),
      base64Data.map((data) => ({ type: 'uri', uri: data })),
      hostileString.map((name) => ({ type: 'tool_call', name, arguments: name })),
    ),
    { maxLength: 4 },
  )
  .map((parts) => JSON.stringify([{ role: 'user', parts }]));

/** OpenAI chat content parts (OpenLLMetry's older form, OpenInference's input.value). */
const openAiContent = fc
  .array(
    fc.oneof(
      hostileString.map((text) => ({ type: 'text', text })),
      fc
        .tuple(mimeType, base64Data)
        .map(([mime, data]) => ({ type: 'image_url', image_url: { url: `data:${mime};base64,${data}` } })),
    ),
    { maxLength: 3 },
  )
  .map((content) => JSON.stringify(content));

/** Attributes where a convention expects JSON, a number or a session: hostile values there. */
const conventionAttributes: fc.Arbitrary<Attributes> = fc.record(
  {
    'gen_ai.operation.name': fc.oneof(
      fc.constantFrom('chat', 'embeddings', 'execute_tool', 'invoke_agent'),
      hostileString,
    ),
    'gen_ai.request.model': hostileString,
    'gen_ai.system': hostileString,
    'gen_ai.input.messages': fc.oneof(genAiMessages, invalidJson, deepJson),
    'gen_ai.output.messages': fc.oneof(genAiMessages, invalidJson),
    'gen_ai.system_instructions': fc.oneof(genAiMessages, invalidJson),
    'gen_ai.usage.input_tokens': fc.oneof(hostileNumber, hostileString),
    'gen_ai.usage.output_tokens': fc.oneof(hostileNumber, hostileString),
    'gen_ai.prompt.0.content': fc.oneof(openAiContent, invalidJson),
    'gen_ai.completion.0.content': hostileString,
    'llm.input_messages.0.message.content': hostileString,
    'llm.input_messages.0.message.contents.0.message_content.image.image.url': base64Data.map(
      (d) => `data:image/png;base64,${d}`,
    ),
    'llm.token_count.prompt': hostileNumber,
    'input.value': fc.oneof(
      openAiContent.map((content) =>
        JSON.stringify({ messages: [{ role: 'user', content: JSON.parse(content) }] }),
      ),
      invalidJson,
    ),
    'output.value': fc.oneof(invalidJson, hostileString),
    'ai.prompt': fc.oneof(invalidJson, hostileString),
    'ai.prompt.messages': fc.oneof(invalidJson, openAiContent),
    'ai.response.text': hostileString,
    'ai.usage.tokens': hostileNumber,
    'session.id': hostileString,
    'gen_ai.conversation.id': hostileString,
    'traceloop.association.properties.session_id': hostileString,
    'langfuse.session.id': hostileString,
    'openinference.span.kind': fc.oneof(fc.constantFrom('LLM', 'TOOL', 'CHAIN'), hostileString),
    'error.type': hostileString,
  },
  { requiredKeys: ['gen_ai.operation.name'] },
);

/** Attributes of any name: a user's own metrics and attributes, and names that are themselves hostile. */
const freeAttributes: fc.Arbitrary<Attributes> = fc
  .array(
    fc.tuple(
      fc.oneof(
        hostileString,
        hostileString.map((name) => `llamonitor.attr.${name}`),
        hostileString.map((name) => `llamonitor.text.${name}`),
        hostileString.map((name) => `llamonitor.image.${name}`),
      ),
      hostileValue,
    ),
    { maxLength: 6 },
  )
  .map((entries) => Object.fromEntries(entries.filter(([key]) => key.length < 10_000)) as Attributes);

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });

/** Trace and span ids: mostly right, sometimes of the wrong length or not hex at all. */
const traceId = fc.oneof({ weight: 3, arbitrary: hex(32) }, { weight: 1, arbitrary: hostileString });
const spanId = fc.oneof({ weight: 3, arbitrary: hex(16) }, { weight: 1, arbitrary: hostileString });

/** Times from year 1 to 9999, the present, and what is no time at all. */
const hrTime: fc.Arbitrary<HrTime> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.integer({ min: 1_700_000_000, max: 1_900_000_000 }).map((s): HrTime => [s, 123_456_789]),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.integer({ min: -62_135_596_800, max: 253_402_300_799 }),
        fc.integer({ min: 0, max: 999_999_999 }),
      )
      .map(([s, n]): HrTime => [s, n]),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<HrTime>([NaN, NaN], [Infinity, 0], [1e20, 0], [-1e15, -5], [0, 2e9]),
  },
);

export interface HostileSpanShape {
  readonly name: string;
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly startTime: HrTime;
  readonly duration: HrTime;
  readonly status: { code: number; message?: string };
  readonly attributes: Attributes;
  readonly resource: Attributes;
  readonly scope: string;
  readonly exception: { message: AttributeValue; type: AttributeValue } | undefined;
}

export const hostileSpanShape: fc.Arbitrary<HostileSpanShape> = fc.record({
  name: hostileString,
  kind: fc.oneof(fc.constantFrom(SpanKind.CLIENT, SpanKind.INTERNAL), fc.integer({ min: -5, max: 99 })),
  traceId,
  spanId,
  parentSpanId: fc.option(spanId, { nil: undefined }),
  startTime: hrTime,
  duration: hrTime,
  status: fc.oneof(
    fc.constant({ code: SpanStatusCode.UNSET }),
    hostileString.map((message) => ({ code: SpanStatusCode.ERROR, message })),
  ),
  attributes: fc.tuple(conventionAttributes, freeAttributes).map(([a, b]) => ({ ...b, ...a })),
  resource: freeAttributes,
  scope: hostileString,
  exception: fc.option(fc.record({ message: hostileValue, type: hostileValue }), { nil: undefined }),
});

/** The shape as a ReadableSpan of sdk-trace-base 2.x, built by hand: no SDK would let these values through. */
export function hostileSpan(shape: HostileSpanShape): ReadableSpan {
  const context = { traceId: shape.traceId, spanId: shape.spanId, traceFlags: 1 };
  return {
    name: shape.name,
    kind: shape.kind,
    spanContext: () => context,
    ...(shape.parentSpanId === undefined
      ? {}
      : { parentSpanContext: { traceId: shape.traceId, spanId: shape.parentSpanId, traceFlags: 1 } }),
    startTime: shape.startTime,
    endTime: [shape.startTime[0] + shape.duration[0], shape.startTime[1]],
    duration: shape.duration,
    ended: true,
    status: shape.status,
    attributes: shape.attributes,
    events: shape.exception
      ? [
          {
            name: 'exception',
            time: shape.startTime,
            attributes: {
              'exception.message': shape.exception.message,
              'exception.type': shape.exception.type,
            },
          },
        ]
      : [],
    links: [],
    resource: resourceFromAttributes(shape.resource),
    instrumentationScope: { name: shape.scope },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  } as ReadableSpan;
}
