/** What one stored row records: only model calls, counted once, with values a counter or histogram takes. */
import { describe, expect, it } from 'vitest';
import { BoundedValues, OVERFLOW_VALUE } from '../../src/metrics/bounded-values.js';
import { callMeasurements, isModelCallRow, type ValueCaps } from '../../src/metrics/call-measurements.js';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import { CHAT_ATTRIBUTES, finishedSpans } from '../support/spans.js';

const caps = (): ValueCaps => ({
  models: new BoundedValues(10),
  providers: new BoundedValues(10),
  errorTypes: new BoundedValues(10),
});
const chatRow = (): MetricEvent => toMetricEvent(finishedSpans(1)[0]!)!;

describe('callMeasurements', () => {
  it("measures a contrib chat span's row: seconds, tokens, cost, and the conventions' attributes", () => {
    const row = chatRow();
    const call = callMeasurements(row, caps())!;
    expect(call.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    });
    expect(call.durationSeconds).toBeCloseTo(row.duration_ms! / 1000, 12);
    expect([call.inputTokens, call.outputTokens]).toEqual([CHAT_ATTRIBUTES['gen_ai.usage.input_tokens'], 7]);
    expect(call.costUsd).toBe(row.cost_usd);
    expect(call.errorType).toBeUndefined();
    expect(call.timeToFirstChunkSeconds).toBeUndefined();
  });

  it('leaves out a row without a model, and a row that repeats another call', () => {
    expect(isModelCallRow({ ...chatRow(), model: null })).toBe(false);
    expect(isModelCallRow({ ...chatRow(), text_custom_metrics: { aggregate: true } })).toBe(false);
    expect(isModelCallRow({ ...chatRow(), text_custom_metrics: { aggregate_input_tokens: 3 } })).toBe(false);
    expect(
      callMeasurements({ ...chatRow(), text_custom_metrics: { aggregate: true } }, caps()),
    ).toBeUndefined();
  });

  it("gives a failed call its row's error_type, or _OTHER when the row names none", () => {
    const failed = { ...chatRow(), error: 'Rate limit reached', error_type: '429' };
    expect(callMeasurements(failed, caps())!.errorType).toBe('429');
    expect(callMeasurements({ ...failed, error_type: null }, caps())!.errorType).toBe(OVERFLOW_VALUE);
  });

  it('takes int64 counts given as bigint, and drops values no counter takes', () => {
    const row = {
      ...chatRow(),
      input_tokens: 12n,
      cache_read_tokens: 4n,
      reasoning_tokens: -1,
      cost_usd: Number.NaN,
    };
    const call = callMeasurements(row as unknown as MetricEvent, caps())!;
    expect(call.inputTokens).toBe(12);
    expect(call.tokenDetails).toEqual([['cache_read', 4]]);
    expect(call.costUsd).toBeUndefined();
  });
});

describe('BoundedValues', () => {
  it('keeps the first max distinct values and records the rest as _OTHER', () => {
    const values = new BoundedValues(2);
    expect(['a', 'b', 'a', 'c', 'b', 'd'].map((v) => values.of(v))).toEqual([
      'a',
      'b',
      'a',
      '_OTHER',
      'b',
      '_OTHER',
    ]);
    expect(values.overflowed).toBe(true);
  });
});
