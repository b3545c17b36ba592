/**
 * A model-call span its instrumentation never ends (OpenLLMetry and
 * OpenInference on a 429 or a 500) still gets a row from
 * MetricEventsSpanProcessor: after danglingSpanTimeoutMillis, after a grace
 * period once the local root of its trace ended, or at shutdown. The clock and
 * the sweep timer are the test's; spans come from a real tracer provider, with
 * the attributes OpenLLMetry sets at a chat call's start.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, trace, type Span } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { GRACE_AFTER_ROOT_MILLIS } from '../../src/export/open-calls.js';
import { MetricEventsSpanProcessor } from '../../src/export/processor.js';
import type { MetricEventsExporterOptions } from '../../src/config/options.js';
import { MemorySink } from '../support/memory-sink.js';

let spillDir: string;
beforeAll(async () => {
  spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-open-calls-'));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(async () => {
  context.disable();
  await rm(spillDir, { recursive: true, force: true });
});

const MINUTE = 60_000;
const TIMEOUT = 10 * MINUTE;

/** What OpenLLMetry 0.27 sets on `chat <model>` at the call's start (docs/instrumentations.md). */
const CHAT_AT_START = {
  'gen_ai.provider.name': 'openai',
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Hi' }] }]),
  'traceloop.association.properties.session_id': 'session-429',
};

function setup(options: MetricEventsExporterOptions = {}) {
  const sink = new MemorySink();
  let now = Date.now();
  let sweep: (() => void) | undefined;
  const processor = new MetricEventsSpanProcessor(
    {
      exporter: MetricEventsSpanExporter.withSink(sink, { spillDir, ...options }),
      batch: { scheduledDelayMillis: 60_000 },
    },
    {
      now: () => now,
      setInterval: (callback) => {
        sweep = callback;
        return () => (sweep = undefined);
      },
    },
  );
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('@traceloop/instrumentation-openai');
  return {
    sink,
    processor,
    tracer,
    /** Moves the clock on and runs the sweep the processor set up. */
    async after(millis: number) {
      now += millis;
      sweep?.();
      await processor.forceFlush();
    },
    startChat(parent?: Span): Span {
      const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
      // Started at the test's clock, so that its duration is the test's to tell.
      return tracer.startSpan(
        'chat gpt-4o-mini',
        { kind: 2, attributes: CHAT_AT_START, startTime: now },
        ctx,
      );
    },
  };
}

describe('a model-call span never ended', () => {
  it('gets a row after danglingSpanTimeoutMillis: the span as it started, failed, with its session', async () => {
    const { sink, startChat, after } = setup();
    const chat = startChat();
    await after(TIMEOUT - 1);
    expect(sink.rows).toEqual([]);
    await after(1);
    expect(sink.rows).toHaveLength(1);
    const [row] = sink.rows;
    expect(row).toMatchObject({
      operation_name: 'chat gpt-4o-mini',
      operation_type: 'llm_call',
      span_id: chat.spanContext().spanId,
      session_id: 'session-429',
      model: 'gpt-4o-mini',
      provider: 'openai',
      error: 'the span was never ended by its instrumentation',
      error_type: 'span_not_ended',
      input_tokens: null,
      cost_usd: null,
    });
    expect(row!.duration_ms).toBe(TIMEOUT);
    expect(row!.custom_attributes).toMatchObject({ span_not_ended: true });
    expect(row!.text_custom_metrics).toMatchObject({ input_char_count: 2, cost_source: 'no_usage' });
  });

  it('gets it 30 s after the local root of its trace ended, not before', async () => {
    const { sink, tracer, startChat, after } = setup();
    const request = tracer.startSpan('POST /chat');
    startChat(request);
    await after(1_000);
    request.end();
    await after(GRACE_AFTER_ROOT_MILLIS - 1);
    expect(sink.rows).toEqual([]);
    await after(1);
    expect(sink.rows.map((r) => r.error_type)).toEqual(['span_not_ended']);
  });

  it('gets it at shutdown', async () => {
    const { sink, processor, startChat } = setup();
    startChat();
    await processor.shutdown();
    expect(sink.rows.map((r) => [r.operation_name, r.error_type])).toEqual([
      ['chat gpt-4o-mini', 'span_not_ended'],
    ]);
  });

  it('gives a span that ends in time its one real row only', async () => {
    const { sink, processor, startChat, after } = setup();
    const chat = startChat();
    chat.setAttribute('gen_ai.usage.input_tokens', 12);
    chat.end();
    await after(TIMEOUT * 2);
    await processor.shutdown();
    expect(sink.rows.map((r) => [r.error_type, r.input_tokens])).toEqual([[null, 12]]);
  });

  it('hands on the real row too when the span ends after its row was written', async () => {
    const { sink, startChat, after } = setup();
    const chat = startChat();
    await after(TIMEOUT);
    chat.setAttribute('gen_ai.usage.input_tokens', 12);
    chat.end();
    await after(0);
    expect(sink.rows.map((r) => [r.event_id, r.error_type, r.input_tokens])).toEqual([
      [sink.rows[0]!.event_id, 'span_not_ended', null],
      [sink.rows[0]!.event_id, null, 12],
    ]);
  });

  it('tells a model call by attributes set just after its start, as OpenInference sets them', async () => {
    const { sink, processor, tracer } = setup();
    const chat = tracer.startSpan('OpenAI Chat Completions');
    chat.setAttributes({
      'openinference.span.kind': 'LLM',
      'llm.model_name': 'gpt-4o-mini',
      'session.id': 's-1',
    });
    await processor.shutdown();
    expect(sink.rows.map((r) => [r.operation_type, r.session_id, r.error_type])).toEqual([
      ['llm_call', 's-1', 'span_not_ended'],
    ]);
  });

  it('lets go of a span that is no model call at the first sweep', async () => {
    const { processor, tracer, after } = setup({ spans: 'all' });
    tracer.startSpan('background job');
    expect(processor.watchedOpenSpans).toBe(1);
    await after(1);
    expect(processor.watchedOpenSpans).toBe(0);
  });

  it('watches model calls only: an application span left open gets no row', async () => {
    const { sink, processor, tracer } = setup({ spans: 'all' });
    tracer.startSpan('background job');
    await processor.shutdown();
    expect(sink.rows).toEqual([]);
  });

  it('watches at most maxOpenSpans calls at once', async () => {
    const { sink, processor, startChat } = setup({ maxOpenSpans: 2 });
    const spans = [startChat(), startChat(), startChat()];
    expect(processor.watchedOpenSpans).toBe(2);
    await processor.shutdown();
    expect(sink.rows.map((r) => r.span_id)).toEqual(spans.slice(0, 2).map((s) => s.spanContext().spanId));
  });

  it('writes no such row with danglingSpanTimeoutMillis 0', async () => {
    const { sink, processor, startChat } = setup({ danglingSpanTimeoutMillis: 0 });
    startChat();
    await processor.shutdown();
    expect(sink.rows).toEqual([]);
  });

  it('stays bounded under a flood of spans never ended: at most maxOpenSpans watched, the rest counted out', async () => {
    const { sink, processor, tracer, startChat, after } = setup({ maxOpenSpans: 1_000 });
    for (let i = 0; i < 20_000; i++) tracer.startSpan(`job ${i}`);
    expect(processor.watchedOpenSpans).toBe(1_000);
    await after(1); // the first sweep lets go of the spans that are no model call
    expect(processor.watchedOpenSpans).toBe(0);
    for (let i = 0; i < 5_000; i++) startChat();
    expect(processor.watchedOpenSpans).toBe(1_000);
    await processor.shutdown();
    expect(sink.rows).toHaveLength(1_000);
    expect(new Set(sink.rows.map((r) => r.error_type))).toEqual(new Set(['span_not_ended']));
  });
});
