/**
 * The value an attacker would put in a numeric column of a spill file so that
 * an encoder writing numbers unescaped makes one declared row into two: the
 * real row's number, its remaining fields, a newline, and the head of a forged
 * row whose tail is the real row's remaining fields.
 */
import { INSERT_COLUMNS, type MetricEvent } from '../../src/schema/columns.js';
import { createDelimitedEncoder, type DelimitedDialect } from '../../src/sinks/delimited-text.js';

/** `real` with `column` holding a string that would also store `forged` (its first fields up to `column`). */
export function withForgedRow(
  dialect: DelimitedDialect,
  real: MetricEvent,
  forged: MetricEvent,
  column = 'duration_ms',
): Record<string, unknown> {
  const encode = createDelimitedEncoder(INSERT_COLUMNS, dialect);
  const fields = (row: MetricEvent) => encode([row]).slice(0, -1).split('\t');
  const at = INSERT_COLUMNS.findIndex((c) => c.name === column);
  const realFields = fields(real);
  const forgedFields = fields(forged);
  const payload = [realFields.slice(at).join('\t'), forgedFields.slice(0, at + 1).join('\t')].join('\n');
  return { ...real, [column]: payload };
}
