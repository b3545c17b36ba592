/**
 * toMetricEvent: one finished span in, one metric_events row out (or undefined
 * when the span filter drops the span). Pure: no I/O, no state. It never
 * throws: a part that fails on a hostile span leaves nulls in its columns and
 * the row is still produced.
 */
import { diag, type Attributes, type HrTime } from '@opentelemetry/api';
import { SCHEMA_VERSION, type JsonObject, type JsonValue, type MetricEvent } from '../schema/columns.js';
import { fitRow } from '../schema/fit-row.js';
import { hrTimeToIsoMicros } from '../schema/timestamps.js';
import { customAttributes } from './custom-attributes.js';
import { eventIdOf } from './event-id.js';
import { isWrapperSpan, operationTypeOf, type OperationType } from './operation-type.js';
import { sessionIdFromAttributes } from './session-id.js';
import type { MappingOptions, SpanLike } from './span-like.js';
import { MAX_LISTED_IMAGES, NO_IMAGES, spanImages, type ImageColumns } from './span-images.js';
import { spanError, type SpanError } from './span-error.js';
import { inputText, outputText } from './span-text.js';
import { SpanView, isRecord, type GroupedPrefix } from './span-view.js';
import { measureText, type TextMetrics } from './text-metrics.js';
import { spanTokens, tokenMetrics } from './tokens.js';

const ZERO_TRACE_ID = '00000000000000000000000000000000';
const ZERO_SPAN_ID = '0000000000000000';
const NO_ERROR: SpanError = { error: null, error_type: null };

export function toMetricEvent(span: SpanLike, options: MappingOptions = {}): MetricEvent | undefined {
  try {
    return mapSpan(span, options);
  } catch (error) {
    diag.debug('llamonitor: span mapped to a bare row after an unexpected failure', error);
    return fallbackRow(span);
  }
}

function mapSpan(span: SpanLike, options: MappingOptions): MetricEvent | undefined {
  const name = typeof span.name === 'string' ? span.name : '';
  const attributes = attempt('attributes', () => attributesOf(span.attributes), {});
  const resourceAttributes = attempt('resource', () => attributesOf(span.resource?.attributes), {});
  const view = attempt(
    'attribute index',
    () => new SpanView(name, attributes, resourceAttributes),
    undefined,
  );
  if ((options.spans ?? 'llm') === 'llm' && !view?.keys.hasLlmConvention) return undefined;
  const safeView = view ?? new SpanView(name, {}, {});

  const { traceId, spanId } = identity(span);
  const operationType = attempt(
    'operation type',
    () => operationTypeOf(name, attributes),
    'other' as OperationType,
  );
  const input = attempt('input text', () => inputText(safeView), undefined);
  const output = attempt('output text', () => outputText(safeView), undefined);
  const outputMetrics = output === undefined ? undefined : measureText(output);
  const images = attempt('images', () => spanImages(safeView), NO_IMAGES);
  const aggregate = options.parentIsModelCall === true || isWrapperSpan(operationType, attributes);

  return fitRow({
    event_id: eventIdOf(traceId, spanId),
    schema_version: SCHEMA_VERSION,
    session_id:
      attempt('session', () => sessionIdFromAttributes(attributes, resourceAttributes), undefined) ??
      options.inheritedSessionId ??
      traceId,
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: attempt('parent', () => parentSpanId(span), null),
    operation_name: name,
    operation_type: operationType,
    timestamp: timestampOf(span),
    duration_ms: attempt('duration', () => durationMillis(span.duration), null),
    text_char_count: outputMetrics?.chars ?? null,
    text_word_count: outputMetrics?.words ?? null,
    text_byte_size: outputMetrics?.bytes ?? null,
    text_line_count: outputMetrics?.lines ?? null,
    text_custom_metrics: attempt('text metrics', () => textCustomMetrics(safeView, input, aggregate), null),
    image_count: images.image_count,
    image_total_pixels: images.image_total_pixels,
    image_file_size_bytes: images.image_file_size_bytes,
    image_width: images.image_width,
    image_height: images.image_height,
    image_format: images.image_format,
    image_custom_metrics: attempt('image metrics', () => imageCustomMetrics(safeView, images), null),
    ...attempt('error', () => spanError(span, attributes), NO_ERROR),
    custom_attributes: attempt(
      'custom attributes',
      () => customAttributes(span, safeView, options.captureContent === true ? { input, output } : undefined),
      null,
    ),
  });
}

/** Runs one part of the mapping; a failure is logged and yields `fallback`. */
function attempt<T, F>(part: string, run: () => T, fallback: F): T | F {
  try {
    return run();
  } catch (error) {
    diag.debug(`llamonitor: could not map the ${part} of a span`, error);
    return fallback;
  }
}

function attributesOf(value: unknown): Attributes {
  return isRecord(value) ? (value as Attributes) : {};
}

function identity(span: SpanLike): { traceId: string; spanId: string } {
  return attempt(
    'span context',
    () => {
      const context = span.spanContext();
      return {
        traceId: typeof context.traceId === 'string' ? context.traceId : ZERO_TRACE_ID,
        spanId: typeof context.spanId === 'string' ? context.spanId : ZERO_SPAN_ID,
      };
    },
    { traceId: ZERO_TRACE_ID, spanId: ZERO_SPAN_ID },
  );
}

/** sdk-trace-base 2.x `parentSpanContext`, then 1.x `parentSpanId`. */
function parentSpanId(span: SpanLike): string | null {
  const fromContext = span.parentSpanContext?.spanId;
  if (typeof fromContext === 'string' && fromContext.length > 0) return fromContext;
  const fromId = span.parentSpanId;
  return typeof fromId === 'string' && fromId.length > 0 ? fromId : null;
}

/** Span start; a start that is no instant falls back to the end, then to now (the column is NOT NULL). */
function timestampOf(span: SpanLike): string {
  return (
    attempt('start time', () => hrTimeToIsoMicros(span.startTime), null) ??
    attempt('end time', () => hrTimeToIsoMicros(span.endTime), null) ??
    hrTimeToIsoMicros(nowHrTime())!
  );
}

function nowHrTime(): HrTime {
  const millis = Date.now();
  return [Math.floor(millis / 1000), (millis % 1000) * 1e6];
}

function durationMillis(duration: HrTime): number | null {
  const millis = duration[0] * 1000 + duration[1] / 1e6;
  return Number.isFinite(millis) && millis >= 0 ? millis : null;
}

function textCustomMetrics(view: SpanView, input: string | undefined, aggregate: boolean): JsonObject | null {
  const metrics: JsonObject = {};
  if (input !== undefined) Object.assign(metrics, inputMetrics(measureText(input)));
  Object.assign(metrics, tokenMetrics(spanTokens(view), aggregate));
  Object.assign(metrics, userMetrics(view, 'llamonitor.text.'));
  return Object.keys(metrics).length > 0 ? metrics : null;
}

function inputMetrics(metrics: TextMetrics): JsonObject {
  return {
    input_char_count: metrics.chars,
    input_word_count: metrics.words,
    input_byte_size: metrics.bytes,
    input_line_count: metrics.lines,
  };
}

function imageCustomMetrics(view: SpanView, images: ImageColumns): JsonObject | null {
  const metrics: JsonObject = {};
  if (images.images.length > 0) {
    metrics['images'] = images.images.slice(0, MAX_LISTED_IMAGES).map((image) => ({ ...image }));
  }
  Object.assign(metrics, userMetrics(view, 'llamonitor.image.'));
  return Object.keys(metrics).length > 0 ? metrics : null;
}

/** The user's own `llamonitor.text.<name>` / `llamonitor.image.<name>` attributes, keyed by name. */
function userMetrics(view: SpanView, prefix: GroupedPrefix): JsonObject {
  const metrics: JsonObject = {};
  for (const key of view.grouped(prefix))
    metrics[key.slice(prefix.length)] = (view.get(key) ?? null) as JsonValue;
  return metrics;
}

/** The row of a span nothing else could be read from: its ids, its name, now. */
function fallbackRow(span: SpanLike): MetricEvent {
  const { traceId, spanId } = identity(span);
  return fitRow({
    event_id: eventIdOf(traceId, spanId),
    schema_version: SCHEMA_VERSION,
    session_id: traceId,
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: null,
    operation_name: attempt('name', () => (typeof span.name === 'string' ? span.name : ''), ''),
    operation_type: 'other',
    timestamp: hrTimeToIsoMicros(nowHrTime())!,
  });
}
