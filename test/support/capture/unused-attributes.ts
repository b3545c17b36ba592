/**
 * Which attributes of the captured spans the mapping does not use yet:
 * `tsx test/support/capture/unused-attributes.ts` prints, per capture target,
 * every span attribute key of the fixtures that makes no difference to the row.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { toMetricEvent } from '../../../src/mapping/to-metric-event.js';
import { listCapturedFixtures, loadCapturedSpans } from '../captured-span.js';

function rowOf(span: ReadableSpan, attributes: Attributes): string {
  return JSON.stringify(toMetricEvent({ ...span, attributes }, { spans: 'all', captureContent: true }));
}

function without(attributes: Attributes, keys: Iterable<string>): Attributes {
  const copy = { ...attributes };
  for (const key of keys) delete copy[key];
  return copy;
}

/**
 * Keys of the span whose value reaches its row neither as it is (removing the
 * key changes nothing) nor alone (a span with only that key maps as one with
 * none): a fallback source shadowed by a first choice counts as used.
 */
export function unusedKeys(span: ReadableSpan): string[] {
  const full = rowOf(span, span.attributes);
  const empty = rowOf(span, {});
  return Object.keys(span.attributes).filter(
    (key) =>
      rowOf(span, without(span.attributes, [key])) === full &&
      rowOf(span, { [key]: span.attributes[key] }) === empty,
  );
}

/** Target → unused key → the span names that carry it. */
export function unusedByTarget(): Map<string, Map<string, Set<string>>> {
  const result = new Map<string, Map<string, Set<string>>>();
  for (const [target, scenario] of listCapturedFixtures()) {
    const keys = result.get(target) ?? new Map<string, Set<string>>();
    result.set(target, keys);
    for (const span of loadCapturedSpans(target, scenario)) {
      for (const key of unusedKeys(span)) {
        const spans = keys.get(key) ?? new Set<string>();
        spans.add(span.name.replace(/ (gpt-4o-mini|text-embedding-3-small|error-\d+)$/, ' <model>'));
        keys.set(key, spans);
      }
    }
  }
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [target, keys] of unusedByTarget()) {
    console.log(`\n### ${target}\n`);
    for (const [key, spans] of [...keys].sort(([a], [b]) => a.localeCompare(b))) {
      console.log(`- \`${key}\` (${[...spans].sort().join(', ')})`);
    }
  }
}
