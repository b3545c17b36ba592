/**
 * Loads the captured fixtures (test/fixtures/captured/<instrumentation>/<scenario>.json,
 * written by `npm run capture`) back into objects shaped like the ReadableSpan
 * of sdk-trace-base 2.x, so that mapping and exporter tests consume the shapes
 * real instrumentations emit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTraceState, type SpanContext } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { CaptureFixture, CapturedSpanJson, SpanContextJson } from './capture/span-json.js';
import { REPOSITORY_ROOT } from './capture/target.js';

export type { CaptureFixture, CapturedSpanJson } from './capture/span-json.js';

export const CAPTURED_FIXTURES_DIR = join(REPOSITORY_ROOT, 'test', 'fixtures', 'captured');

function spanContextOf(json: SpanContextJson): SpanContext {
  return {
    traceId: json.traceId,
    spanId: json.spanId,
    traceFlags: json.traceFlags,
    ...(json.isRemote !== undefined ? { isRemote: json.isRemote } : {}),
    ...(json.traceState !== undefined ? { traceState: createTraceState(json.traceState) } : {}),
  };
}

/** A fixture span as a ReadableSpan (sdk-trace-base 2.x: `parentSpanContext`, `instrumentationScope`). */
export function capturedSpan(json: CapturedSpanJson): ReadableSpan {
  const context = spanContextOf(json.spanContext);
  return {
    name: json.name,
    kind: json.kind,
    spanContext: () => context,
    ...(json.parentSpanContext ? { parentSpanContext: spanContextOf(json.parentSpanContext) } : {}),
    startTime: [json.startTime[0], json.startTime[1]],
    endTime: [json.endTime[0], json.endTime[1]],
    duration: [json.duration[0], json.duration[1]],
    ended: json.ended,
    status: { ...json.status },
    attributes: structuredClone(json.attributes),
    events: json.events.map((event) => ({
      name: event.name,
      time: [event.time[0], event.time[1]],
      attributes: structuredClone(event.attributes),
      droppedAttributesCount: event.droppedAttributesCount,
    })),
    links: json.links.map((link) => ({
      context: spanContextOf(link.context),
      attributes: structuredClone(link.attributes),
    })),
    resource: resourceFromAttributes(json.resource.attributes),
    instrumentationScope: { ...json.instrumentationScope },
    droppedAttributesCount: json.droppedAttributesCount,
    droppedEventsCount: json.droppedEventsCount,
    droppedLinksCount: json.droppedLinksCount,
  };
}

export function loadCapturedFixture(instrumentation: string, scenario: string): CaptureFixture {
  const file = join(CAPTURED_FIXTURES_DIR, instrumentation, `${scenario}.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as CaptureFixture;
}

/** The finished spans of one capture, in start order: what an exporter receives. */
export function loadCapturedSpans(instrumentation: string, scenario: string): ReadableSpan[] {
  return loadCapturedFixture(instrumentation, scenario).spans.map(capturedSpan);
}

/** Every fixture present, as [instrumentation, scenario] pairs. */
export function listCapturedFixtures(): Array<readonly [instrumentation: string, scenario: string]> {
  return readdirSync(CAPTURED_FIXTURES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((dir) =>
      readdirSync(join(CAPTURED_FIXTURES_DIR, dir.name))
        .filter((file) => file.endsWith('.json'))
        .map((file) => [dir.name, file.slice(0, -'.json'.length)] as const),
    )
    .sort(([a1, s1], [a2, s2]) => a1.localeCompare(a2) || s1.localeCompare(s2));
}
