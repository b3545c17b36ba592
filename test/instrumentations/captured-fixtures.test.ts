/**
 * The captured fixtures (npm run capture) and their loader: every fixture
 * loads back into the ReadableSpan shape the mapping reads.
 */
import type { SpanLike } from '../../src/mapping/span-like.js';
import { describe, expect, it } from 'vitest';
import {
  capturedSpan,
  listCapturedFixtures,
  loadCapturedFixture,
  loadCapturedSpans,
} from '../support/captured-span.js';
import { CAPTURE_TARGETS } from '../support/capture/registry.js';

const fixtures = listCapturedFixtures();

describe('captured fixtures', () => {
  it('exist for every capture target', () => {
    expect([...new Set(fixtures.map(([instrumentation]) => instrumentation))].sort()).toEqual(
      Object.keys(CAPTURE_TARGETS).sort(),
    );
  });

  it.each(fixtures)(
    '%s/%s names its instrumentation, scenario and package versions',
    (instrumentation, scenario) => {
      const fixture = loadCapturedFixture(instrumentation, scenario);
      expect(fixture.instrumentation).toBe(instrumentation);
      expect(fixture.scenario).toBe(scenario);
      expect(Object.keys(fixture.capturedWith.packages).length).toBeGreaterThan(0);
    },
  );

  it.each(fixtures)('%s/%s holds no path of the machine that captured it', (instrumentation, scenario) => {
    expect(JSON.stringify(loadCapturedFixture(instrumentation, scenario))).not.toMatch(
      /"\/(work|home|root)\//,
    );
  });
});

describe('loadCapturedSpans', () => {
  const [span] = loadCapturedSpans('ai7', 'chat').filter((s) => s.name.startsWith('chat '));
  const json = loadCapturedFixture('ai7', 'chat').spans.find((s) => s.name.startsWith('chat '))!;

  it('gives spanContext() as a function returning the trace and span ids', () => {
    expect(span!.spanContext()).toMatchObject({
      traceId: json.spanContext.traceId,
      spanId: json.spanContext.spanId,
    });
    expect(span!.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('gives the parent as parentSpanContext (sdk-trace-base 2.x)', () => {
    expect(span!.parentSpanContext?.spanId).toBe(json.parentSpanContext!.spanId);
  });

  it('gives no parentSpanContext to a root span', () => {
    const root = loadCapturedSpans('ai7', 'chat')[0]!;
    expect(root.parentSpanContext).toBeUndefined();
  });

  it('gives start, end and duration as HrTime, the duration their difference', () => {
    const toNanos = ([s, ns]: readonly [number, number]): bigint => BigInt(s) * 1_000_000_000n + BigInt(ns);
    expect(toNanos(span!.endTime) - toNanos(span!.startTime)).toBe(toNanos(span!.duration));
  });

  it('gives resource attributes and the instrumentation scope', () => {
    expect(span!.resource.attributes['service.name']).toBe('llamonitor-capture');
    expect(span!.instrumentationScope.name).toBe('gen_ai');
  });

  it('gives events with their attributes', () => {
    const failed = loadCapturedSpans('ai6', 'error-429')[0]!;
    expect(failed.events[0]).toMatchObject({
      name: 'exception',
      attributes: { 'exception.type': 'AI_APICallError' },
    });
  });

  it('fits the SpanLike the mapping reads', () => {
    const asSpanLike: SpanLike = capturedSpan(json);
    expect(asSpanLike.attributes['gen_ai.operation.name']).toBe('chat');
  });

  it('hands out copies: changing one loaded span leaves the next load as captured', () => {
    loadCapturedSpans('ai7', 'chat')[0]!.attributes['gen_ai.operation.name'] = 'changed';
    expect(loadCapturedSpans('ai7', 'chat')[0]!.attributes['gen_ai.operation.name']).toBe('invoke_agent');
  });
});
