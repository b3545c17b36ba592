/**
 * The parts of a row that do not depend on one convention: session fallback,
 * operation types, text measures, event ids, parents under both SDK majors,
 * the span filter, content capture and the user's own llamonitor.* attributes.
 */
import { trace, context, type Attributes } from '@opentelemetry/api';
import {
  BasicTracerProvider as BasicTracerProviderV1,
  InMemorySpanExporter as InMemoryV1,
  SimpleSpanProcessor as SimpleV1,
} from 'sdk-trace-base-v1';
import { describe, expect, it } from 'vitest';
import { eventIdOf } from '../../src/mapping/event-id.js';
import { isModelCall, operationTypeOf } from '../../src/mapping/operation-type.js';
import { namesNoIdentity } from '../../src/mapping/identity-keys.js';
import { SESSION_KEYS, sessionIdFromAttributes } from '../../src/mapping/session-id.js';
import type { SpanLike } from '../../src/mapping/span-like.js';
import { measureText } from '../../src/mapping/text-metrics.js';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import { TOKEN_SOURCES, type TokenName } from '../../src/mapping/tokens.js';
import { USER_KEYS } from '../../src/mapping/user-id.js';
import { INSERT_COLUMNS, type MetricEvent } from '../../src/schema/columns.js';
import { everyFixtureSpan } from '../fixtures/spans/all.js';
import { recordSpans } from '../fixtures/spans/record.js';

function rowOf(attributes: Attributes, options: Parameters<typeof toMetricEvent>[1] = {}): MetricEvent {
  const [span] = recordSpans({ scope: { name: 'test' } }, (tracer) => {
    tracer.startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', ...attributes } }).end();
  });
  return toMetricEvent(span!, options)!;
}

describe('the row object', () => {
  // Rows are made by a constructor (no allocation site for V8 to pretenure): still plain objects, every column set.
  it.each(everyFixtureSpan().map((span) => [span.name, span] as const))(
    '%s: a plain object with every column, in column order',
    (_name, span) => {
      const row = toMetricEvent(span);
      if (row === undefined) return expect(span.attributes).not.toHaveProperty('gen_ai.operation.name');
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(Object.keys(row)).toEqual(INSERT_COLUMNS.map((column) => column.name));
      expect({ ...row }).toStrictEqual(row);
    },
  );
});

describe('session id', () => {
  it.each([
    ['session.id', { 'session.id': 'a', 'gen_ai.conversation.id': 'b' }, 'a'],
    ['gen_ai.conversation.id', { 'gen_ai.conversation.id': 'b', 'langfuse.session.id': 'c' }, 'b'],
    [
      'langfuse.session.id',
      { 'langfuse.session.id': 'c', 'traceloop.association.properties.session_id': 'd' },
      'c',
    ],
    [
      'traceloop session_id',
      { 'traceloop.association.properties.session_id': 'd', 'ai.telemetry.metadata.sessionId': 'e' },
      'd',
    ],
    [
      'traceloop sessionId',
      { 'traceloop.association.properties.sessionId': 'd2', 'ai.telemetry.metadata.sessionId': 'e' },
      'd2',
    ],
    [
      'ai.telemetry.metadata.sessionId',
      { 'ai.telemetry.metadata.sessionId': 'e', 'ai.settings.context.sessionId': 'f' },
      'e',
    ],
    ['ai.settings.context.sessionId', { 'ai.settings.context.sessionId': 'f' }, 'f'],
  ])('takes %s before what follows it in the chain', (_source, attributes, expected) => {
    expect(sessionIdFromAttributes(attributes, { 'session.id': 'resource' })).toBe(expected);
  });

  it('tells a span that names no session or user from one that may (namesNoIdentity)', () => {
    expect(namesNoIdentity({ 'gen_ai.request.model': 'x', 'gen_ai.operation.name': 'chat' })).toBe(true);
    expect(namesNoIdentity({})).toBe(true);
    for (const key of [...SESSION_KEYS, ...USER_KEYS]) {
      expect(namesNoIdentity({ 'gen_ai.request.model': 'x', [key]: 'someone' }), key).toBe(false);
    }
    // More keys than there are identity keys: read by name instead, whatever they are.
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`gen_ai.other.${i}`, i]));
    expect(namesNoIdentity(many)).toBe(false);
    expect(sessionIdFromAttributes(many)).toBeUndefined();
  });

  it('falls back to the resource’s session.id', () => {
    expect(sessionIdFromAttributes({}, { 'session.id': 'resource' })).toBe('resource');
  });

  it('is undefined when neither span nor resource has a session', () => {
    expect(sessionIdFromAttributes({ 'gen_ai.request.model': 'x' })).toBeUndefined();
  });

  it('uses the inherited session before the trace id, and the span’s own before both', () => {
    expect(rowOf({}, { inheritedSessionId: 'parent' }).session_id).toBe('parent');
    expect(rowOf({ 'session.id': 'own' }, { inheritedSessionId: 'parent' }).session_id).toBe('own');
  });

  it('uses the trace id when no session exists', () => {
    const event = rowOf({});
    expect(event.session_id).toBe(event.trace_id);
  });
});

describe('operation type', () => {
  it.each([
    [{ 'openinference.span.kind': 'RETRIEVER', 'gen_ai.operation.name': 'chat' }, 'retrieval'],
    [{ 'openinference.span.kind': 'RERANKER' }, 'rerank'],
    [{ 'openinference.span.kind': 'GUARDRAIL' }, 'guardrail'],
    [{ 'openinference.span.kind': 'EVALUATOR' }, 'evaluation'],
    [{ 'gen_ai.operation.name': 'image_generation' }, 'image_generation'],
    [{ 'gen_ai.operation.name': 'invoke_workflow' }, 'workflow'],
    [{ 'gen_ai.operation.name': 'something_new', 'traceloop.span.kind': 'agent' }, 'agent'],
    [{ 'llm.request.type': 'embedding' }, 'embedding'],
    [{ 'ai.operationId': 'ai.streamText.doStream' }, 'llm_call'],
    [{ 'langfuse.observation.type': 'retriever' }, 'retrieval'],
    [{ 'llm.model_name': 'gpt-4o' }, 'llm_call'],
    [{ 'http.request.method': 'GET' }, 'other'],
  ])('normalises %o to %s', (attributes, expected) => {
    expect(operationTypeOf('span', attributes)).toBe(expected);
  });

  it('knows no type for a value that names an Object.prototype member', () => {
    expect(operationTypeOf('span', { 'gen_ai.operation.name': 'constructor' })).toBe('other');
    expect(operationTypeOf('span', { 'ai.operationId': '__proto__', 'llm.model_name': 'm' })).toBe(
      'llm_call',
    );
  });

  it('tells the processor at span start which spans are model calls', () => {
    expect(isModelCall('anthropic.messages.create', { 'gen_ai.operation.name': 'chat' })).toBe(true);
    expect(isModelCall('ai.generateText', { 'ai.operationId': 'ai.generateText' })).toBe(false);
  });
});

describe('token counts', () => {
  const sources = (Object.entries(TOKEN_SOURCES) as [TokenName, readonly string[]][]).flatMap(
    ([name, keys]) => keys.map((key) => [key, name] as const),
  );

  it.each(sources)('reads %s as %s', (key, name) => {
    expect(rowOf({ [key]: 7 }).text_custom_metrics).toMatchObject({ [name]: 7 });
  });

  it('takes each count from its first source that holds a count, whatever the order of the keys', () => {
    const event = rowOf({
      'gen_ai.usage.input_tokens': 9,
      'gen_ai.usage.prompt_tokens': 5,
      'ai.usage.inputTokens': 3,
      'ai.usage.outputTokens': 2,
      'gen_ai.usage.output_tokens': -1,
      'llm.token_count.completion': 4,
    });
    expect(event.text_custom_metrics).toMatchObject({ input_tokens: 9, output_tokens: 4 });
  });
});

describe('text measures', () => {
  it('counts code points, whitespace-separated words, UTF-8 bytes and newlines + 1', () => {
    expect(measureText('héllo 🦙\n  wörld ')).toEqual({ chars: 16, words: 3, bytes: 21, lines: 2 });
  });

  it('measures an all-ASCII text by the same rules', () => {
    expect(measureText(' two\twords\r\nand\fmore \u000b')).toEqual({
      chars: 22,
      words: 4,
      bytes: 22,
      lines: 2,
    });
  });

  it('counts a lone surrogate as one character of three bytes, the U+FFFD it is stored as', () => {
    expect(measureText('a\ud800 b')).toEqual({ chars: 4, words: 2, bytes: 6, lines: 1 });
  });

  it('counts an empty text as one line of nothing', () => {
    expect(measureText('')).toEqual({ chars: 0, words: 0, bytes: 0, lines: 1 });
  });
});

describe('ids and parents', () => {
  it('derives the same event id from the same trace and span ids', () => {
    const [span] = recordSpans({ scope: { name: 'test' } }, (tracer) =>
      tracer.startSpan('chat', { attributes: { 'gen_ai.operation.name': 'chat' } }).end(),
    );
    expect(toMetricEvent(span!)!.event_id).toBe(toMetricEvent(span!)!.event_id);
  });

  it('derives a version-5 UUID that differs for another span', () => {
    const id = eventIdOf('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventIdOf('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203332')).not.toBe(id);
  });

  it('keeps the event ids of earlier releases, so a batch replayed after an upgrade is stored once', () => {
    expect(eventIdOf('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331')).toBe(
      '86ecb931-21e4-5aa2-bad1-3352d0f2131b',
    );
    expect(eventIdOf('é\ud800', 'x')).toBe('7449fc25-1eea-5aa1-900c-ace2e9090111');
  });

  it('reads the parent span id of sdk-trace-base 1.x spans (parentSpanId)', () => {
    const exporter = new InMemoryV1();
    const provider = new BasicTracerProviderV1();
    provider.addSpanProcessor(new SimpleV1(exporter));
    const tracer = provider.getTracer('ai');
    const parent = tracer.startSpan('ai.generateText', {
      attributes: { 'ai.operationId': 'ai.generateText' },
    });
    tracer
      .startSpan(
        'ai.generateText.doGenerate',
        { attributes: { 'ai.operationId': 'ai.generateText.doGenerate' } },
        trace.setSpan(context.active(), parent),
      )
      .end();
    parent.end();
    const [child] = exporter.getFinishedSpans();
    const event = toMetricEvent(child as unknown as SpanLike)!;
    expect(event.parent_span_id).toBe(parent.spanContext().spanId);
    expect(event.custom_attributes).toMatchObject({ scope_name: 'ai' });
  });

  it('writes the start time with microseconds and the duration in fractional milliseconds', () => {
    const [span] = recordSpans({ scope: { name: 'test' } }, (tracer) =>
      tracer
        .startSpan('chat', {
          attributes: { 'gen_ai.operation.name': 'chat' },
          startTime: [1_764_308_275, 123_456_789],
        })
        .end([1_764_308_276, 623_456_789]),
    );
    expect(toMetricEvent(span!)).toMatchObject({
      timestamp: '2025-11-28T05:37:55.123456Z',
      duration_ms: 1500,
    });
  });
});

describe('content capture and the user’s own attributes', () => {
  const attributes = {
    'gen_ai.input.messages': JSON.stringify([
      { role: 'user', parts: [{ type: 'text', content: 'secret prompt' }] },
    ]),
    'gen_ai.output.messages': JSON.stringify([
      { role: 'assistant', parts: [{ type: 'text', content: 'secret answer' }] },
    ]),
  };

  it('keeps prompt and completion out of custom_attributes by default', () => {
    expect(JSON.stringify(rowOf(attributes).custom_attributes)).not.toContain('secret');
  });

  it('stores prompt and completion when content capture is on', () => {
    expect(rowOf(attributes, { captureContent: true }).custom_attributes).toMatchObject({
      prompt: 'secret prompt',
      completion: 'secret answer',
    });
  });

  it('lands llamonitor.text.*, llamonitor.image.* and llamonitor.attr.* in their JSON columns', () => {
    const event = rowOf({
      'llamonitor.text.readability': 61.5,
      'llamonitor.image.faces': 2,
      'llamonitor.attr.team': 'search',
    });
    expect(event.text_custom_metrics).toEqual({ readability: 61.5 });
    expect(event.image_custom_metrics).toEqual({ faces: 2 });
    expect(event.custom_attributes).toMatchObject({ team: 'search' });
  });

  it('keeps a span that carries only llamonitor.* attributes under the llm filter', () => {
    const [span] = recordSpans({ scope: { name: 'test' } }, (tracer) =>
      tracer.startSpan('rank', { attributes: { 'llamonitor.text.score': 1 } }).end(),
    );
    expect(toMetricEvent(span!)?.operation_type).toBe('other');
  });

  it('bounds a long metadata value to 1024 characters', () => {
    const event = rowOf({ 'ai.telemetry.metadata.note': 'x'.repeat(5000) });
    expect((event.custom_attributes?.['metadata'] as Record<string, string>)['note']).toHaveLength(1024);
  });
});
