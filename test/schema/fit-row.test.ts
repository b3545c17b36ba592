import { describe, expect, it } from 'vitest';
import { fitRow, RowShapeError, sanitizeText, truncateCodePoints } from '../../src/schema/fit-row.js';
import {
  hrTimeToIsoMicros,
  isoMicrosToEpochMicros,
  epochMicrosToIsoMicros,
} from '../../src/schema/timestamps.js';

const base = {
  event_id: '6f1c2d1e-2b7a-5c3e-9d4f-0a1b2c3d4e5f',
  schema_version: '1.0.0',
  session_id: 's',
  trace_id: '0af7651916cd43dd8448eb211c80319c',
  span_id: 'b7ad6b7169203331',
  parent_span_id: null,
  operation_name: 'chat gpt-4o',
  operation_type: 'llm_call',
  timestamp: '2026-11-28T05:37:55.123456Z',
  duration_ms: 12.5,
};

describe('fitRow', () => {
  it('cuts a 300-emoji session id to 255 code points without splitting a pair', () => {
    const row = fitRow({ ...base, session_id: '😀'.repeat(300) });
    expect([...row.session_id]).toHaveLength(255);
    expect(row.session_id.isWellFormed()).toBe(true);
  });

  it('replaces lone surrogates and strips NUL inside JSON keys and values', () => {
    const row = fitRow({ ...base, custom_attributes: { 'k\0': 'a\ud800b\0c', nested: ['\udc00'] } });
    expect(row.custom_attributes).toEqual({ k: 'a\ufffdbc', nested: ['\ufffd'] });
  });

  it('leaves out a JSON key named __proto__ rather than letting it set the object’s prototype', () => {
    const attributes = JSON.parse('{"__proto__": {"polluted": true}, "team": "search"}') as Record<
      string,
      unknown
    >;
    const row = fitRow({ ...base, custom_attributes: attributes });
    expect(row.custom_attributes).toEqual({ team: 'search' });
    expect('polluted' in row.custom_attributes!).toBe(false);
  });

  it('turns NaN, Infinity and out-of-range integers into null', () => {
    const row = fitRow({ ...base, duration_ms: NaN, text_char_count: 2 ** 31, image_total_pixels: Infinity });
    expect([row.duration_ms, row.text_char_count, row.image_total_pixels]).toEqual([null, null, null]);
  });

  it('keeps an int64 above 2^53 exact as a bigint', () => {
    expect(fitRow({ ...base, image_total_pixels: 2n ** 60n + 1n }).image_total_pixels).toBe(2n ** 60n + 1n);
  });

  it('refuses a row without a NOT NULL value, naming the column', () => {
    expect(() => fitRow({ ...base, span_id: undefined })).toThrow(RowShapeError);
    expect(() => fitRow({ ...base, span_id: undefined })).toThrow(/span_id/);
  });
});

describe('text helpers', () => {
  it('sanitizeText leaves clean text as it is', () => {
    expect(sanitizeText('héllo 🦙')).toBe('héllo 🦙');
  });
  it('truncateCodePoints counts code points, not UTF-16 units', () => {
    expect(truncateCodePoints('a😀b😀', 3)).toBe('a😀b');
  });
});

describe('timestamps', () => {
  it('keeps microseconds from an HrTime', () => {
    expect(hrTimeToIsoMicros([1764308275, 123456789])).toBe('2025-11-28T05:37:55.123456Z');
  });
  it('round-trips epoch microseconds exactly', () => {
    const iso = '2026-11-28T05:37:55.000001Z';
    expect(epochMicrosToIsoMicros(isoMicrosToEpochMicros(iso))).toBe(iso);
  });
  it('gives null for a time that is not finite', () => {
    expect(hrTimeToIsoMicros([NaN, 0])).toBeNull();
  });
});
