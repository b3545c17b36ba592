/**
 * The part of a finished span the mapping reads. Structural, so that spans of
 * @opentelemetry/sdk-trace-base 1.x (`parentSpanId`, `instrumentationLibrary`)
 * and 2.x (`parentSpanContext`, `instrumentationScope`) both fit.
 */
import type { Attributes, HrTime, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import type { PriceTable } from '../pricing/price-table.js';
import type { TokensToEstimate } from './token-estimate.js';

export interface SpanEventLike {
  readonly name: string;
  readonly time?: HrTime;
  readonly attributes?: Attributes | undefined;
}

/**
 * Marks a copy of a span its instrumentation never ended, handed on by
 * MetricEventsSpanProcessor (export/open-calls.ts): its row gets
 * schema/unended-calls.ts's error and error_type, and `span_not_ended: true` in custom_attributes.
 */
export const SPAN_NOT_ENDED: unique symbol = Symbol.for('llamonitor.span_not_ended');

export interface SpanLike {
  readonly [SPAN_NOT_ENDED]?: true | undefined;
  readonly name: string;
  readonly kind: SpanKind;
  spanContext(): SpanContext;
  /** sdk-trace-base 2.x */
  readonly parentSpanContext?: SpanContext | undefined;
  /** sdk-trace-base 1.x */
  readonly parentSpanId?: string | undefined;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly events: readonly SpanEventLike[];
  readonly resource?: { readonly attributes: Attributes } | undefined;
  /** sdk-trace-base 2.x */
  readonly instrumentationScope?:
    { readonly name: string; readonly version?: string | undefined } | undefined;
  /** sdk-trace-base 1.x */
  readonly instrumentationLibrary?:
    { readonly name: string; readonly version?: string | undefined } | undefined;
}

/** Which spans become rows: those carrying an LLM convention, or every span. */
export type SpanFilter = 'llm' | 'all';

export interface MappingOptions {
  /** The prices calls are costed with; default: the bundled table (@pydantic/genai-prices) alone. */
  readonly prices?: PriceTable | undefined;
  /** `llm` (default): only spans that carry an LLM convention; `all`: every span. */
  readonly spans?: SpanFilter;
  /** Store prompt and completion text in custom_attributes (bounded in size). Default false. */
  readonly captureContent?: boolean;
  /**
   * The session of the nearest ancestor that had one, noted at span start by
   * MetricEventsSpanProcessor; used when the span carries none of its own.
   */
  readonly inheritedSessionId?: string | undefined;
  /**
   * The user of the nearest ancestor that had one, noted at span start by
   * MetricEventsSpanProcessor; used when the span names none of its own.
   */
  readonly inheritedUserId?: string | undefined;
  /**
   * The parent span is a model call of the same call (an instrumentation's span
   * around the Anthropic SDK's own span): its usage is kept as aggregate_* keys.
   */
  readonly parentIsModelCall?: boolean | undefined;
  /**
   * Characters of the span's values read at most, in all (UTF-16 code units:
   * a byte each in ASCII text). When its values are longer together, each
   * long value is measured from its head, up to an equal share, in bounded
   * time, and the row names the metrics taken from a head in
   * text_custom_metrics.partial_metrics. Image data is not counted: an image
   * is measured whole from its length and first bytes.
   * Default 1 MiB (LLAMONITOR_MAX_MEASURED_BYTES for the exporter).
   */
  readonly maxMeasuredBytes?: number | undefined;
  /**
   * Called, before the row is returned, when the span is a model call that
   * carries no usage but text an OpenAI tokenizer can count (see
   * token-estimate.ts); the exporter counts off-thread and completes the row
   * with withEstimatedTokens. Absent: no span is estimated.
   */
  readonly estimateTokens?: ((need: TokensToEstimate) => void) | undefined;
}
