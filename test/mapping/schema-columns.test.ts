/**
 * The schema 1.1 columns the mapping fills from the spans real
 * instrumentations emitted (test/fixtures/captured/): why each call stopped,
 * the service, and that every row carries the version whose shape it has.
 */
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/schema/columns.js';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import { CAPTURE_SERVICE_NAME } from '../support/capture/tracing.js';
import { listCapturedFixtures, loadCapturedSpans } from '../support/captured-span.js';

/** The rows of one captured scenario, model calls only (those that name a model). */
function modelCallRows(instrumentation: string, scenario: string) {
  return loadCapturedSpans(instrumentation, scenario)
    .map((span) => toMetricEvent(span))
    .filter((row) => row !== undefined && row.operation_type === 'llm_call' && row.model !== null);
}

describe('the schema 1.1 columns of captured spans', () => {
  it.each([
    ['contrib-openai', 'chat', 'stop'],
    ['contrib-openai', 'tool-call', 'tool_calls'],
    ['openllmetry-openai', 'chat', 'stop'],
    ['openllmetry-openai', 'tool-call', 'tool_call'], // the GenAI conventions' spelling
    ['ai6', 'chat', 'stop'],
    ['ai6', 'tool-call', 'tool-calls'],
    ['ai7', 'tool-call', 'tool-calls'],
  ])(
    '%s %s: the call stopped for "%s", as the instrumentation spells it',
    (instrumentation, scenario, reason) => {
      const rows = modelCallRows(instrumentation, scenario);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows[0]!.finish_reason).toBe(reason);
    },
  );

  it('leaves finish_reason null for a failed call, which has none', () => {
    const rows = loadCapturedSpans('ai6', 'error-429').map((span) => toMetricEvent(span)!);
    const call = rows.find((row) => row.operation_type === 'llm_call');
    expect(call).toBeDefined();
    expect(call!.finish_reason).toBeNull();
  });

  it("gives every captured row the resource's service.name, and the schema version 1.1.0", () => {
    const rows = listCapturedFixtures()
      .flatMap(([instrumentation, scenario]) => loadCapturedSpans(instrumentation, scenario))
      .map((span) => toMetricEvent(span, { spans: 'all' }))
      .filter((row) => row !== undefined);
    expect(rows.length).toBeGreaterThan(50);
    for (const row of rows) {
      expect(row.service_name, row.operation_name).toBe(CAPTURE_SERVICE_NAME);
      expect(row.schema_version).toBe(SCHEMA_VERSION);
    }
  });

  it('sets time_to_first_token_ms on exactly the captured rows that record one, and never past the span’s end', () => {
    const firstTokenKeys = [
      'ai.response.msToFirstChunk',
      'ai.stream.msToFirstChunk',
      'gen_ai.client.operation.time_to_first_chunk',
      'gen_ai.response.time_to_first_chunk',
    ];
    let timed = 0;
    for (const [instrumentation, scenario] of listCapturedFixtures()) {
      for (const span of loadCapturedSpans(instrumentation, scenario)) {
        const row = toMetricEvent(span, { spans: 'all' });
        const records = firstTokenKeys.some((key) => typeof span.attributes[key] === 'number');
        const label = `${instrumentation}/${scenario} ${span.name}`;
        if (!records) {
          expect(row?.time_to_first_token_ms ?? null, label).toBeNull();
          continue;
        }
        timed++;
        expect(row!.time_to_first_token_ms, label).toBeGreaterThan(0);
        expect(row!.time_to_first_token_ms!, label).toBeLessThanOrEqual(row!.duration_ms!);
      }
    }
    // AI SDK 6 doStream, AI SDK 7 chat, AI SDK 7 legacy doStream, at least.
    expect(timed).toBeGreaterThanOrEqual(3);
  });

  it('gives a cost to exactly the captured rows with their own input tokens, and says why the others have none', () => {
    for (const [instrumentation, scenario] of listCapturedFixtures()) {
      for (const span of loadCapturedSpans(instrumentation, scenario)) {
        const row = toMetricEvent(span, { spans: 'all' });
        if (row === undefined) continue;
        const label = `${instrumentation}/${scenario} ${row.operation_name}`;
        const source = row.text_custom_metrics?.['cost_source'];
        if (row.input_tokens !== null) {
          expect(row.cost_usd, label).toBeGreaterThan(0);
          expect(source, label).toBe('computed');
        } else {
          expect(row.cost_usd, label).toBeNull();
          if (row.model !== null) expect(['no_usage', 'computed'], label).toContain(source);
        }
      }
    }
  });
});
