// Provisional: replaced by the mapping branch.
import { randomUUID } from 'node:crypto';
import { SCHEMA_VERSION, type MetricEvent } from '../schema/columns.js';
import { fitRow } from '../schema/fit-row.js';
import { hrTimeToIsoMicros } from '../schema/timestamps.js';
import type { MappingOptions, SpanLike } from './span-like.js';

export function toMetricEvent(span: SpanLike, options: MappingOptions = {}): MetricEvent | undefined {
  const attrs = span.attributes;
  const isLlm = Object.keys(attrs).some(
    (k) => k.startsWith('gen_ai.') || k.startsWith('llm.') || k.startsWith('ai.'),
  );
  if ((options.spans ?? 'llm') === 'llm' && !isLlm) return undefined;
  const ctx = span.spanContext();
  return fitRow({
    event_id: randomUUID(),
    schema_version: SCHEMA_VERSION,
    session_id: (attrs['session.id'] as string | undefined) ?? options.inheritedSessionId ?? ctx.traceId,
    trace_id: ctx.traceId,
    span_id: ctx.spanId,
    parent_span_id: span.parentSpanContext?.spanId ?? span.parentSpanId ?? null,
    operation_name: span.name,
    operation_type: 'other',
    timestamp: hrTimeToIsoMicros(span.startTime),
    duration_ms: span.duration[0] * 1e3 + span.duration[1] / 1e6,
  });
}

// Provisional helpers for the processor; the mapping branch provides the real ones.
export function sessionIdFromAttributes(
  attributes: Record<string, unknown>,
  _resourceAttributes?: Record<string, unknown>,
): string | undefined {
  const value = attributes['session.id'] ?? attributes['ai.settings.context.sessionId'];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function operationTypeOf(_name: string, attributes: Record<string, unknown>): string {
  return attributes['gen_ai.request.model'] !== undefined ? 'llm_call' : 'other';
}
