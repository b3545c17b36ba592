/**
 * The row of a model call whose span its instrumentation never ended
 * (export/open-calls.ts). The stores tell it by its error_type: should the
 * span end after all, its real row replaces it (PostgreSQL's and MySQL's
 * conflict paths), where a row stored twice is otherwise kept as first stored.
 */
export const UNENDED_ERROR = 'the span was never ended by its instrumentation';
export const UNENDED_ERROR_TYPE = 'span_not_ended';
