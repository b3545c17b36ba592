/**
 * An application whose instrumentation never patched its client writes no row
 * and hears nothing. MetricEventsSpanProcessor says so: a minute after start,
 * and again at shutdown, when it has seen no span with an LLM convention,
 * naming what it did see. The minute is an injected timer here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { FIRST_CHECK_MILLIS, LlmSpanWatch, type SetTimer } from '../../src/export/llm-span-watch.js';
import { MetricEventsSpanProcessor } from '../../src/export/processor.js';
import { ConsoleWarnings } from '../../src/warnings.js';
import { MemorySink } from '../support/memory-sink.js';

let spillDir: string;
beforeAll(async () => {
  spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-no-llm-'));
});
afterAll(async () => {
  await rm(spillDir, { recursive: true, force: true });
});

/** A timer that fires only when the test says the time has come. */
function manualTimer() {
  const timers: { callback: () => void; delayMillis: number; cancelled: boolean }[] = [];
  const setTimer: SetTimer = (callback, delayMillis) => {
    const timer = { callback, delayMillis, cancelled: false };
    timers.push(timer);
    return () => void (timer.cancelled = true);
  };
  const elapse = (millis: number) => {
    for (const timer of timers.filter((t) => !t.cancelled && t.delayMillis <= millis)) {
      timer.cancelled = true;
      timer.callback();
    }
  };
  return { setTimer, elapse, pending: () => timers.filter((t) => !t.cancelled).length };
}

function setup() {
  const lines: string[] = [];
  const clock = manualTimer();
  const watch = new LlmSpanWatch(
    new ConsoleWarnings(true, (line) => lines.push(line), new Set()),
    clock.setTimer,
  );
  const sink = new MemorySink();
  const processor = new MetricEventsSpanProcessor(
    { exporter: MetricEventsSpanExporter.withSink(sink, { spillDir }) },
    { llmSpanWatch: watch },
  );
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return { lines, clock, sink, processor, provider };
}

/** What an HTTP instrumentation and the application itself make: spans with no LLM convention. */
function httpSpans(provider: BasicTracerProvider, count: number) {
  for (let i = 0; i < count; i++) {
    provider
      .getTracer('@opentelemetry/instrumentation-http', '0.57.0')
      .startSpan('POST', {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': 'POST',
          'url.full': 'https://api.openai.com/v1/chat/completions',
        },
      })
      .end();
  }
  provider
    .getTracer('support-app')
    .startSpan('POST /chat', { attributes: { 'http.route': '/chat' } })
    .end();
}

describe('the warning that no LLM span was seen', () => {
  it('says, a minute after start and again at shutdown, that no span arrived at all, and what usually causes it', async () => {
    const { lines, clock, processor } = setup();
    clock.elapse(FIRST_CHECK_MILLIS - 1);
    expect(lines).toEqual([]);
    clock.elapse(FIRST_CHECK_MILLIS);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^llamonitor-otel: no span reached MetricEventsSpanProcessor in its first minute/,
    );
    expect(lines[0]).toContain('instrumentation was registered after the LLM client was imported');
    expect(lines[0]).toContain('ES module');
    await processor.shutdown();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^llamonitor-otel: no span reached MetricEventsSpanProcessor before shutdown/);
  });

  it('counts the spans that arrived without an LLM convention and names their scopes', async () => {
    const { lines, clock, provider } = setup();
    httpSpans(provider, 3);
    clock.elapse(FIRST_CHECK_MILLIS);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^llamonitor-otel: 4 spans reached MetricEventsSpanProcessor in its first minute, none with an LLM convention \(scopes: @opentelemetry\/instrumentation-http, support-app\)/,
    );
    await provider.shutdown();
    expect(lines[1]).toMatch(
      /4 spans reached MetricEventsSpanProcessor before shutdown, none with an LLM convention/,
    );
  });

  it('stays silent once an LLM span was seen, and stops its timer', async () => {
    const { lines, clock, provider, sink } = setup();
    httpSpans(provider, 1);
    provider
      .getTracer('@opentelemetry/instrumentation-openai', '0.21.0')
      .startSpan('chat gpt-4o-mini', {
        attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' },
      })
      .end();
    expect(clock.pending()).toBe(0);
    clock.elapse(FIRST_CHECK_MILLIS);
    await provider.shutdown();
    expect(lines).toEqual([]);
    expect(sink.rows).toHaveLength(1);
  });

  it('warns at shutdown alone when the application ends within its first minute', async () => {
    const { lines, provider } = setup();
    httpSpans(provider, 1);
    await provider.shutdown();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/2 spans reached MetricEventsSpanProcessor before shutdown/);
  });
});
