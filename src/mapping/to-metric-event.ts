/**
 * toMetricEvent: one finished span in, one metric_events row out (or undefined
 * when the span filter drops the span). Pure: no I/O, and no state that could
 * change a row (key-index.ts only remembers how it classified each key). It
 * never throws: a part that fails on a hostile span leaves nulls in its
 * columns and the row is still produced.
 */
import { diag, type Attributes, type HrTime } from '@opentelemetry/api';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  SCHEMA_VERSION,
  columnSpec,
  type ColumnName,
  type JsonObject,
  type MetricEvent,
} from '../schema/columns.js';
import {
  fitDouble,
  fitInt32,
  fitInt64,
  fitRow,
  fitString,
  sanitizeJson,
  sanitizeText,
  setUserKey,
} from '../schema/fit-row.js';
import { PARTIAL_METRICS_KEY, countInvalidValue } from '../schema/data-quality.js';
import { hrTimeToIsoMicros } from '../schema/timestamps.js';
import { customAttributes } from './custom-attributes.js';
import { eventIdOf } from './event-id.js';
import { isWrapperSpan, operationTypeInView, type OperationType } from './operation-type.js';
import { sessionIdInView } from './session-id.js';
import type { MappingOptions, SpanLike } from './span-like.js';
import { MAX_LISTED_IMAGES, NO_IMAGES, spanImages, type ImageColumns } from './span-images.js';
import { spanError, type SpanError } from './span-error.js';
import { inputText, outputText } from './span-text.js';
import { KeyGroup, type GroupedPrefix } from './key-index.js';
import { DEFAULT_MAX_MEASURED, SpanView, isRecord, prefixOf } from './span-view.js';
import { measureText, type TextMetrics } from './text-metrics.js';
import { NO_TOKEN_COLUMNS, addTokenMetrics, spanTokens, tokenColumns, type SpanTokens } from './tokens.js';
import { AGGREGATE_KEY } from '../schema/aggregate-rows.js';
import { callModels, modelColumn, providerName, type CallModels } from './call-identity.js';
import { finishReasonsInView } from './finish-reason.js';
import { costOfCall } from './call-cost.js';
import { addCostMetrics, type CallCost } from '../pricing/price-call.js';
import { defaultPriceTable } from '../pricing/price-table.js';
import { userIdInView } from './user-id.js';
import { NO_STREAM_TIMING, streamTimingInView, type StreamTiming } from './stream-timing.js';
import { addModalityTokens } from './modality-tokens.js';
import { tokensToEstimate } from './token-estimate.js';

const ZERO_TRACE_ID = '00000000000000000000000000000000';
const ZERO_SPAN_ID = '0000000000000000';
const NO_ERROR: SpanError = { error: null, error_type: null };

/**
 * The row is built to fit its columns (strings made storable and cut where
 * they are set, JSON built from storable values), so it skips fitRow's copy
 * and deep walk; the lengths come from the column table.
 */
const maxChars = (column: ColumnName) => columnSpec(column).maxLength;
const SESSION_ID_CHARS = maxChars('session_id');
const TRACE_ID_CHARS = maxChars('trace_id');
const SPAN_ID_CHARS = maxChars('span_id');
const PARENT_SPAN_ID_CHARS = maxChars('parent_span_id');
const OPERATION_NAME_CHARS = maxChars('operation_name');
const ERROR_CHARS = maxChars('error');
const ERROR_TYPE_CHARS = maxChars('error_type');
const MODEL_CHARS = maxChars('model');
const PROVIDER_CHARS = maxChars('provider');
const FINISH_REASON_CHARS = maxChars('finish_reason');
const USER_ID_CHARS = maxChars('user_id');
const SERVICE_NAME_CHARS = maxChars('service_name');
const NO_TOKENS: SpanTokens = { counts: {}, invalid: [] };
const NO_MODELS: CallModels = { request: undefined, response: undefined };

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
  const attributes = attempt('attributes', spanAttributes, span, {});
  const resourceAttributes = attempt('resource', resourceAttributesOf, span, {});
  const view = new SpanView(name, attributes, resourceAttributes, maxMeasuredOf(options));
  if ((options.spans ?? 'llm') === 'llm' && !view.keys.hasLlmConvention) return undefined;

  const { traceId, spanId } = identity(span);
  const operationType = attempt('operation type', operationTypeInView, view, 'other' as OperationType);
  const inputRead = attempt('input text', readInputText, view, NOTHING_READ);
  const outputRead = attempt('output text', readOutputText, view, NOTHING_READ);
  const input = inputRead.value;
  const output = outputRead.value;
  const inputMetrics = measured(view, input);
  const outputMetrics = measured(view, output);
  const imagesRead = attempt('images', readImages, view, NO_IMAGES_READ);
  const images = imagesRead.value;
  const partial = partialMetrics(
    inputRead.partial || inputMetrics?.cut === true,
    outputRead.partial || outputMetrics?.cut === true,
    imagesRead.partial,
  );
  const aggregate = options.parentIsModelCall === true || isWrapperSpan(operationType, attributes);
  const tokens = attempt2(
    'tokens',
    spanTokens,
    view,
    span.instrumentationScope ?? span.instrumentationLibrary,
    NO_TOKENS,
  );
  const usage = attempt2('token columns', tokenColumns, tokens, aggregate, NO_TOKEN_COLUMNS);
  const models = attempt('model', callModels, view, NO_MODELS);
  const provider = attempt('provider', providerName, view, undefined);
  const { timestamp, millis: atMillis } = instantOf(span);
  const cost = attempt(
    'cost',
    costOfCall,
    {
      view,
      models,
      provider,
      // A wrapper's columns are null; its cost is the price of the usage it repeats.
      tokens: aggregate ? attempt2('token columns', tokenColumns, tokens, false, NO_TOKEN_COLUMNS) : usage,
      aggregate,
      // Priced at the instant the row is stamped with, so that re-pricing from the row agrees.
      atMillis,
      table: options.prices ?? defaultPriceTable(),
    },
    undefined,
  );
  const timing = attempt('stream timing', streamTimingInView, view, NO_STREAM_TIMING);
  const finishReasons = attempt('finish reason', finishReasonsInView, view, undefined);
  const userId = attempt('user', userIdInView, view, undefined) ?? options.inheritedUserId;
  const sessionId =
    attempt('session', sessionIdInView, view, undefined) ?? options.inheritedSessionId ?? traceId;
  const parentSpanId = attempt('parent', parentSpanIdOf, span, null);
  const { error, error_type } = attempt2('error', spanError, span, view, NO_ERROR);
  // Attributes whose values were stored as null: named in text_custom_metrics, built last.
  const invalid: string[] = [];
  let imageMetrics: JsonObject | null = null;
  try {
    imageMetrics = imageCustomMetrics(view, images, invalid);
  } catch (error) {
    partFailed('image metrics', error);
  }
  let textMetrics: JsonObject | null = null;
  try {
    textMetrics = textCustomMetrics(
      view,
      inputMetrics?.metrics,
      tokens,
      cost,
      timing,
      aggregate,
      invalid,
      partial,
    );
  } catch (error) {
    partFailed('text metrics', error);
  }
  let attributesColumn: JsonObject | null = null;
  try {
    attributesColumn = customAttributes(
      span,
      view,
      options.captureContent === true ? { input, output } : undefined,
      userId,
      models,
      timing.firstTokenMillis !== undefined,
      finishReasons,
    );
  } catch (error) {
    partFailed('custom attributes', error);
  }

  const row = newRow({
    event_id: eventIdOf(traceId, spanId),
    schema_version: SCHEMA_VERSION,
    session_id: fitString(sessionId, SESSION_ID_CHARS),
    trace_id: fitString(traceId, TRACE_ID_CHARS),
    span_id: fitString(spanId, SPAN_ID_CHARS),
    parent_span_id: parentSpanId === null ? null : fitString(parentSpanId, PARENT_SPAN_ID_CHARS),
    operation_name: fitString(name, OPERATION_NAME_CHARS),
    operation_type: operationType,
    timestamp,
    duration_ms: fitDouble(attempt('duration', durationMillis, span, null)),
    text_char_count: fitInt32(outputMetrics?.metrics.chars),
    text_word_count: fitInt32(outputMetrics?.metrics.words),
    text_byte_size: fitInt32(outputMetrics?.metrics.bytes),
    text_line_count: fitInt32(outputMetrics?.metrics.lines),
    text_custom_metrics: textMetrics,
    image_count: fitInt32(images.image_count),
    image_total_pixels: fitInt64(images.image_total_pixels),
    image_file_size_bytes: fitInt64(images.image_file_size_bytes),
    image_width: fitInt32(images.image_width),
    image_height: fitInt32(images.image_height),
    image_format: images.image_format,
    image_custom_metrics: imageMetrics,
    error: error === null ? null : fitString(error, ERROR_CHARS),
    error_type: error_type === null ? null : fitString(error_type, ERROR_TYPE_CHARS),
    custom_attributes: attributesColumn,
    model: optionalString(modelColumn(models), MODEL_CHARS),
    provider: optionalString(provider, PROVIDER_CHARS),
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    total_tokens: usage.total_tokens,
    cache_read_tokens: usage.cache_read_tokens,
    cache_write_tokens: usage.cache_write_tokens,
    reasoning_tokens: usage.reasoning_tokens,
    cost_usd: aggregate || cost === undefined ? null : fitDouble(cost.usd),
    time_to_first_token_ms: fitDouble(timing.firstTokenMillis),
    finish_reason: optionalString(finishReasons?.[0], FINISH_REASON_CHARS),
    user_id: optionalString(userId === undefined ? undefined : String(userId), USER_ID_CHARS),
    service_name: optionalString(view.resourceAttributes[ATTR_SERVICE_NAME], SERVICE_NAME_CHARS),
  });
  if (options.estimateTokens !== undefined) {
    const need = attempt(
      'token estimate',
      tokensToEstimate,
      {
        operationType,
        aggregate,
        tokens,
        cost,
        failed: error !== null,
        models,
        provider,
        atMillis,
        input,
        output,
        readPartially: inputRead.partial || outputRead.partial,
        maxMeasured: view.maxMeasured,
      },
      undefined,
    );
    if (need !== undefined) options.estimateTokens(need);
  }
  return row;
}

/**
 * The row the mapping returns: a plain object (its prototype is Object.prototype: to JSON, to the
 * sinks, to a user's `enrich` and to tests it is an object literal) made by a constructor. Rows wait
 * for their write and outlive young-generation collections; V8 then pretenures an object literal's
 * allocation site (allocates its objects straight in the old generation), after which each of the
 * row's stores of a young value pays a write barrier. An object made by `new` has no allocation
 * site and is never pretenured (docs/performance.md, "The floor").
 */
function RowObject(this: MetricEvent, fields: MetricEvent): void {
  this.event_id = fields.event_id;
  this.schema_version = fields.schema_version;
  this.session_id = fields.session_id;
  this.trace_id = fields.trace_id;
  this.span_id = fields.span_id;
  this.parent_span_id = fields.parent_span_id;
  this.operation_name = fields.operation_name;
  this.operation_type = fields.operation_type;
  this.timestamp = fields.timestamp;
  this.duration_ms = fields.duration_ms;
  this.text_char_count = fields.text_char_count;
  this.text_word_count = fields.text_word_count;
  this.text_byte_size = fields.text_byte_size;
  this.text_line_count = fields.text_line_count;
  this.text_custom_metrics = fields.text_custom_metrics;
  this.image_count = fields.image_count;
  this.image_total_pixels = fields.image_total_pixels;
  this.image_file_size_bytes = fields.image_file_size_bytes;
  this.image_width = fields.image_width;
  this.image_height = fields.image_height;
  this.image_format = fields.image_format;
  this.image_custom_metrics = fields.image_custom_metrics;
  this.error = fields.error;
  this.error_type = fields.error_type;
  this.custom_attributes = fields.custom_attributes;
  this.model = fields.model;
  this.provider = fields.provider;
  this.input_tokens = fields.input_tokens;
  this.output_tokens = fields.output_tokens;
  this.total_tokens = fields.total_tokens;
  this.cache_read_tokens = fields.cache_read_tokens;
  this.cache_write_tokens = fields.cache_write_tokens;
  this.reasoning_tokens = fields.reasoning_tokens;
  this.cost_usd = fields.cost_usd;
  this.time_to_first_token_ms = fields.time_to_first_token_ms;
  this.finish_reason = fields.finish_reason;
  this.user_id = fields.user_id;
  this.service_name = fields.service_name;
}
RowObject.prototype = Object.prototype;
const RowConstructor = RowObject as unknown as new (fields: MetricEvent) => MetricEvent;

function newRow(fields: MetricEvent): MetricEvent {
  return new RowConstructor(fields);
}

/** A string column's value: a non-empty string cut to fit, else null. */
function optionalString(value: unknown, maxLength: number | undefined): string | null {
  return typeof value === 'string' && value.length > 0 ? fitString(value, maxLength) : null;
}

/**
 * Runs one part of the mapping, `read(input)`; a failure is logged and yields
 * `fallback`. The input is an argument rather than a closure's capture: the
 * mapping of a span then makes no function per part.
 */
function attempt<I, T, F>(part: string, read: (input: I) => T, input: I, fallback: F): T | F {
  try {
    return read(input);
  } catch (error) {
    partFailed(part, error);
    return fallback;
  }
}

/** attempt for a part that reads two inputs: still no function made per span. */
function attempt2<A, B, T, F>(part: string, read: (a: A, b: B) => T, a: A, b: B, fallback: F): T | F {
  try {
    return read(a, b);
  } catch (error) {
    partFailed(part, error);
    return fallback;
  }
}

/** attempt for a part that needs more than one input. */
function attemptRun<T, F>(part: string, run: () => T, fallback: F): T | F {
  try {
    return run();
  } catch (error) {
    partFailed(part, error);
    return fallback;
  }
}

function partFailed(part: string, error: unknown): void {
  diag.debug(`llamonitor: could not map the ${part} of a span`, error);
}

function spanAttributes(span: SpanLike): Attributes {
  return attributesOf(span.attributes);
}

function resourceAttributesOf(span: SpanLike): Attributes {
  return attributesOf(span.resource?.attributes);
}

function attributesOf(value: unknown): Attributes {
  return isRecord(value) ? (value as Attributes) : {};
}

interface SpanIdentity {
  readonly traceId: string;
  readonly spanId: string;
}

const ZERO_IDENTITY: SpanIdentity = { traceId: ZERO_TRACE_ID, spanId: ZERO_SPAN_ID };

function identity(span: SpanLike): SpanIdentity {
  return attempt('span context', spanContextIds, span, ZERO_IDENTITY);
}

function spanContextIds(span: SpanLike): SpanIdentity {
  const context = span.spanContext();
  return {
    traceId: typeof context.traceId === 'string' ? context.traceId : ZERO_TRACE_ID,
    spanId: typeof context.spanId === 'string' ? context.spanId : ZERO_SPAN_ID,
  };
}

/** sdk-trace-base 2.x `parentSpanContext`, then 1.x `parentSpanId`. */
function parentSpanIdOf(span: SpanLike): string | null {
  const fromContext = span.parentSpanContext?.spanId;
  if (typeof fromContext === 'string' && fromContext.length > 0) return fromContext;
  const fromId = span.parentSpanId;
  return typeof fromId === 'string' && fromId.length > 0 ? fromId : null;
}

/**
 * The row's timestamp: the span's start; a start that is no instant falls back to the end, then to
 * now (the column is NOT NULL). With the same instant in milliseconds, for pricing: from the start's
 * HrTime, parsed only for a fallback.
 */
function instantOf(span: SpanLike): { readonly timestamp: string; readonly millis: number } {
  const start = attempt('start time', startTimeText, span, null);
  if (start !== null) {
    const [seconds, nanos] = span.startTime;
    return { timestamp: start, millis: seconds * 1000 + nanos / 1e6 };
  }
  const timestamp = attempt('end time', endTimeText, span, null) ?? hrTimeToIsoMicros(nowHrTime())!;
  return { timestamp, millis: Date.parse(timestamp) };
}

function startTimeText(span: SpanLike): string | null {
  return hrTimeToIsoMicros(span.startTime);
}

function endTimeText(span: SpanLike): string | null {
  return hrTimeToIsoMicros(span.endTime);
}

function nowHrTime(): HrTime {
  const millis = Date.now();
  return [Math.floor(millis / 1000), (millis % 1000) * 1e6];
}

function durationMillis(span: SpanLike): number | null {
  const duration = span.duration;
  const millis = duration[0] * 1000 + duration[1] / 1e6;
  return Number.isFinite(millis) && millis >= 0 ? millis : null;
}

interface PartRead<T> {
  readonly value: T;
  /** A value the part read was cut to maxMeasuredBytes. */
  readonly partial: boolean;
}

const NOTHING_READ: PartRead<undefined> = { value: undefined, partial: false };
const NO_IMAGES_READ: PartRead<ImageColumns> = { value: NO_IMAGES, partial: false };

function readInputText(view: SpanView): PartRead<string | undefined> {
  return view.partial(inputText);
}

function readOutputText(view: SpanView): PartRead<string | undefined> {
  return view.partial(outputText);
}

function readImages(view: SpanView): PartRead<ImageColumns> {
  return view.partial(spanImages);
}

/** maxMeasuredBytes when it is a positive integer, else its default. */
function maxMeasuredOf(options: MappingOptions): number {
  const max = options.maxMeasuredBytes;
  return typeof max === 'number' && Number.isInteger(max) && max > 0 ? max : DEFAULT_MAX_MEASURED;
}

/** The four measures of a text, of its first maxMeasured characters when it is longer (then `cut`). */
function measured(
  view: SpanView,
  text: string | undefined,
): { readonly metrics: TextMetrics; readonly cut: boolean } | undefined {
  if (text === undefined) return undefined;
  const cut = !view.readsWhole(text.length);
  return { metrics: measureText(cut ? prefixOf(text, view.maxMeasured) : text), cut };
}

/**
 * The metrics measured from a prefix of what the span held, named as a row
 * holds them: `input_*` (the input keys of text_custom_metrics), `text_*`
 * (the text columns), `image_*` (the image columns and image_custom_metrics).
 */
function partialMetrics(input: boolean, output: boolean, images: boolean): readonly string[] {
  if (!input && !output && !images) return NONE_PARTIAL;
  const names: string[] = [];
  if (input) names.push('input_*');
  if (output) names.push('text_*');
  if (images) names.push('image_*');
  return names;
}

const NONE_PARTIAL: readonly string[] = [];

function textCustomMetrics(
  view: SpanView,
  input: TextMetrics | undefined,
  tokens: SpanTokens,
  cost: CallCost | undefined,
  timing: StreamTiming,
  aggregate: boolean,
  invalid: string[],
  partial: readonly string[],
): JsonObject | null {
  const metrics: JsonObject = {};
  // The cost keys first: every priced row then starts from the same shape, and their stores stay fast.
  if (cost !== undefined) addCostMetrics(metrics, cost, aggregate);
  if (input !== undefined) addInputMetrics(metrics, input);
  if (timing !== NO_STREAM_TIMING) addStreamMetrics(metrics, timing);
  addTokenMetrics(metrics, tokens, aggregate);
  // Marks the row of a span that repeats another's call, usage or not (a failed wrapper has none): counted once.
  if (aggregate) metrics[AGGREGATE_KEY] = true;
  addModalityTokens(metrics, view);
  addUserMetrics(metrics, view, 'llamonitor.text.', invalid);
  for (const name of invalid) countInvalidValue(metrics, name);
  if (partial.length > 0) metrics[PARTIAL_METRICS_KEY] = [...partial];
  return isEmpty(metrics) ? null : metrics;
}

function addInputMetrics(metrics: JsonObject, input: TextMetrics): void {
  metrics['input_char_count'] = input.chars;
  metrics['input_word_count'] = input.words;
  metrics['input_byte_size'] = input.bytes;
  metrics['input_line_count'] = input.lines;
}

function addStreamMetrics(metrics: JsonObject, timing: StreamTiming): void {
  if (timing.finishMillis !== undefined) metrics['ms_to_finish'] = timing.finishMillis;
  if (timing.perOutputChunkMillis !== undefined)
    metrics['time_per_output_chunk_ms'] = timing.perOutputChunkMillis;
  if (timing.outputTokensPerSecond !== undefined) {
    metrics['output_tokens_per_second'] = timing.outputTokensPerSecond;
  }
}

function imageCustomMetrics(view: SpanView, images: ImageColumns, invalid: string[]): JsonObject | null {
  if (images.images.length === 0 && !view.has(KeyGroup.llamonitor)) return null;
  const metrics: JsonObject = {};
  if (images.images.length > 0) {
    metrics['images'] = images.images.slice(0, MAX_LISTED_IMAGES).map((image) => ({ ...image }));
  }
  addUserMetrics(metrics, view, 'llamonitor.image.', invalid);
  return isEmpty(metrics) ? null : metrics;
}

/**
 * The user's own `llamonitor.text.<name>` / `llamonitor.image.<name>`
 * attributes, keyed by name, one level below the column's root (which the
 * JSON depth counts from). A key whose value held parts that were stored as
 * null (a number that is not finite, nesting past the depth MariaDB accepts)
 * is named in `invalid`.
 */
function addUserMetrics(metrics: JsonObject, view: SpanView, prefix: GroupedPrefix, invalid: string[]): void {
  if (!view.has(KeyGroup.llamonitor)) return;
  for (const key of view.grouped(prefix)) {
    const onInvalid = () => invalid.push(sanitizeText(key));
    setUserKey(metrics, sanitizeText(key.slice(prefix.length)), sanitizeJson(view.get(key), 1, onInvalid));
  }
}

function isEmpty(object: JsonObject): boolean {
  for (const _key in object) return false;
  return true;
}

/**
 * The row of a span nothing else could be read from: its ids, its name, and its start (else now).
 * The start where it can be read, so that the row is the same each time the span is mapped: a
 * time-partitioned table keys rows by (event_id, timestamp).
 */
function fallbackRow(span: SpanLike): MetricEvent {
  const { traceId, spanId } = identity(span);
  return fitRow({
    event_id: eventIdOf(traceId, spanId),
    schema_version: SCHEMA_VERSION,
    session_id: traceId,
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: null,
    operation_name: attemptRun('name', () => (typeof span.name === 'string' ? span.name : ''), ''),
    operation_type: 'other',
    timestamp: instantOf(span).timestamp,
  });
}
