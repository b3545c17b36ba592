import { describe, expect, it } from 'vitest';
import { RefusedDataError, errorKindOf } from '../../src/errors.js';
import {
  RowShapeError,
  fitRow,
  isStorableTimestamp,
  sanitizeText,
  truncateCodePoints,
} from '../../src/schema/fit-row.js';
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

  it('turns NaN, Infinity and out-of-range integers into null, counted by column', () => {
    const row = fitRow({ ...base, duration_ms: NaN, text_char_count: 2 ** 31, image_total_pixels: Infinity });
    expect([row.duration_ms, row.text_char_count, row.image_total_pixels]).toEqual([null, null, null]);
    expect(row.text_custom_metrics).toEqual({
      invalid_values: { duration_ms: 1, text_char_count: 1, image_total_pixels: 1 },
    });
  });

  it('keeps an int64 above 2^53 exact as a bigint', () => {
    expect(fitRow({ ...base, image_total_pixels: 2n ** 60n + 1n }).image_total_pixels).toBe(2n ** 60n + 1n);
  });

  it('refuses a row without a NOT NULL value, naming the column', () => {
    expect(() => fitRow({ ...base, span_id: undefined })).toThrow(RowShapeError);
    expect(() => fitRow({ ...base, span_id: undefined })).toThrow(/span_id/);
  });
});

/** The most levels of nesting MariaDB's JSON_VALID accepts (it refuses 32). */
const MARIADB_JSON_LEVELS = 31;

/** Levels of nesting of a JSON value, a container counting one: what MariaDB's JSON_VALID limits to 31. */
function jsonDepth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const items = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...items.map(jsonDepth));
}

/** `{a: {a: ... {a: 1}}}`, `levels` objects deep. */
function nested(levels: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value as Record<string, unknown>;
}

describe('fitRow: what happens to each bad value', () => {
  const refusal = (row: Record<string, unknown>): RowShapeError => {
    try {
      fitRow(row);
    } catch (error) {
      if (error instanceof RowShapeError) return error;
      throw error;
    }
    throw new Error('fitRow accepted the row');
  };

  it('refuses an event_id that is not a UUID, naming the column and the value', () => {
    const error = refusal({ ...base, event_id: 'not-a-uuid' });
    expect(error.column).toBe('event_id');
    expect(error.message).toBe(
      'metric_events.event_id: expects a UUID (8-4-4-4-12 hex digits), got "not-a-uuid"',
    );
    expect(error).toBeInstanceOf(RefusedDataError);
    expect(errorKindOf(error)).toBe('refused-data');
  });

  it('stores a UUID in upper case as lower case, as PostgreSQL returns it', () => {
    expect(fitRow({ ...base, event_id: base.event_id.toUpperCase() }).event_id).toBe(base.event_id);
  });

  it('refuses a number for a NOT NULL string column', () => {
    expect(refusal({ ...base, session_id: 42 }).message).toBe(
      'metric_events.session_id: expects a string, got number 42',
    );
  });

  it('stores a number for a nullable string column as null, counted', () => {
    const row = fitRow({ ...base, parent_span_id: 42, error_type: { code: 1 } });
    expect([row.parent_span_id, row.error_type]).toEqual([null, null]);
    expect(row.text_custom_metrics).toEqual({ invalid_values: { parent_span_id: 1, error_type: 1 } });
  });

  it('stores a string for a number column as null, counted, but reads an int64’s decimal text', () => {
    const row = fitRow({ ...base, image_width: '640', image_total_pixels: '9223372036854775807' });
    expect(row.image_width).toBeNull();
    expect(row.image_total_pixels).toBe(2n ** 63n - 1n);
    expect(row.text_custom_metrics).toEqual({ invalid_values: { image_width: 1 } });
  });

  it('cuts an over-long string to its column, uncounted', () => {
    const row = fitRow({ ...base, operation_name: 'x'.repeat(1000), error: 'e'.repeat(100_000) });
    expect([row.operation_name.length, row.error?.length]).toEqual([255, 16_383]);
    expect(row.text_custom_metrics).toBeNull();
  });

  it('refuses an operation_type outside its vocabulary', () => {
    expect(refusal({ ...base, operation_type: 'chat' }).message).toMatch(
      /^metric_events\.operation_type: expects one of llm_call, embedding, .*, other, got "chat"$/,
    );
  });

  it.each([
    '2026-02-30T00:00:00.000000Z',
    '2026-01-01T24:00:00.000000Z',
    '2026-01-01T23:59:60.000000Z',
    '0000-01-01T00:00:00.000000Z',
    '2026-01-01T00:00:00Z',
    '2026-01-01 00:00:00.000000',
  ])('refuses the timestamp %s, which a store would refuse or read otherwise', (timestamp) => {
    expect(refusal({ ...base, timestamp }).column).toBe('timestamp');
  });

  it('accepts the first and last instants every store holds', () => {
    expect(isStorableTimestamp('0001-01-01T00:00:00.000000Z')).toBe(true);
    expect(isStorableTimestamp('9999-12-31T23:59:59.999999Z')).toBe(true);
  });

  it('cuts a JSON object to 31 levels counted from the column’s root, and counts the cut', () => {
    const row = fitRow({ ...base, custom_attributes: nested(40) });
    expect(jsonDepth(row.custom_attributes)).toBe(MARIADB_JSON_LEVELS);
    expect(row.text_custom_metrics).toEqual({ invalid_values: { custom_attributes: 1 } });
  });

  it('counts the level of a value that is not an object, kept under `value`, from the root too', () => {
    let deepArray: unknown = 1;
    for (let i = 0; i < 40; i++) deepArray = [deepArray];
    const row = fitRow({ ...base, image_custom_metrics: deepArray });
    expect(jsonDepth(row.image_custom_metrics)).toBe(MARIADB_JSON_LEVELS);
  });

  it('adds its counts to the invalid_values the row already has', () => {
    const row = fitRow({
      ...base,
      image_height: -1.5,
      text_custom_metrics: { input_tokens: null, invalid_values: { 'gen_ai.usage.input_tokens': 1 } },
    });
    expect(row.text_custom_metrics).toEqual({
      input_tokens: null,
      invalid_values: { 'gen_ai.usage.input_tokens': 1, image_height: 1 },
    });
  });

  it('changes nothing in a row it already fitted', () => {
    const once = fitRow({ ...base, duration_ms: 'slow', custom_attributes: nested(50), session_id: 'é\0' });
    expect(fitRow(once as unknown as Record<string, unknown>)).toStrictEqual(once);
  });

  it('refuses a row that is not an object, as a spill file line may be', () => {
    expect(() => fitRow(42 as unknown as Record<string, unknown>)).toThrow(RowShapeError);
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
