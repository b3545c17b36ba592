/**
 * error and error_type: the span status's ERROR message, else the message of
 * its `exception` event; the `error.type` attribute, else the event's
 * `exception.type`. A span marked failed without any message still gets a
 * non-null error (its type, or "error"), so failed calls can be counted.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_EXCEPTION_MESSAGE,
  ATTR_EXCEPTION_TYPE,
} from '@opentelemetry/semantic-conventions';
import { UNENDED_ERROR, UNENDED_ERROR_TYPE } from '../schema/unended-calls.js';
import { keyGroupOf } from './key-index.js';
import { SPAN_NOT_ENDED, type SpanEventLike, type SpanLike } from './span-like.js';
import type { SpanView } from './span-view.js';

export interface SpanError {
  readonly error: string | null;
  readonly error_type: string | null;
}

const EXCEPTION_EVENT = 'exception';
const NOT_ENDED: SpanError = { error: UNENDED_ERROR, error_type: UNENDED_ERROR_TYPE };
const NO_ERROR: SpanError = { error: null, error_type: null };
const ERROR_TYPE_GROUP = keyGroupOf(ATTR_ERROR_TYPE);

/** The view holds the span's attributes, already read safely; status and events are read here, each on its own. */
export function spanError(span: SpanLike, view: SpanView): SpanError {
  if (span[SPAN_NOT_ENDED] === true) return NOT_ENDED;
  const status = statusOf(span);
  const failed = status?.code === SpanStatusCode.ERROR;
  const exception = lastException(eventsOf(span));
  const statusMessage = failed ? nonEmpty(status.message) : undefined;
  const exceptionMessage = nonEmpty(exception?.attributes?.[ATTR_EXCEPTION_MESSAGE]);
  const errorType =
    nonEmpty(view.has(ERROR_TYPE_GROUP) ? view.get(ATTR_ERROR_TYPE) : undefined) ??
    nonEmpty(exception?.attributes?.[ATTR_EXCEPTION_TYPE]) ??
    null;
  const message = statusMessage ?? exceptionMessage;
  if (message !== undefined) return { error: message, error_type: errorType };
  if (failed || errorType !== null) return { error: errorType ?? 'error', error_type: errorType };
  return NO_ERROR;
}

function statusOf(span: SpanLike): SpanLike['status'] | undefined {
  try {
    return span.status;
  } catch {
    return undefined;
  }
}

/** The span's events, each part of the mapping reading them on its own: none from a hostile getter. */
export function eventsOf(span: SpanLike): SpanLike['events'] | undefined {
  try {
    return span.events;
  } catch {
    return undefined;
  }
}

function lastException(events: readonly SpanEventLike[] | undefined): SpanEventLike | undefined {
  if (!Array.isArray(events)) return undefined;
  for (let i = events.length - 1; i >= 0; i--) if (events[i]?.name === EXCEPTION_EVENT) return events[i];
  return undefined;
}

function nonEmpty(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}
