/**
 * The MySQL / MariaDB dialect of the read queries (sinks/call-queries.ts).
 * MySQL 8 has no PERCENTILE_CONT, so percentiles are nearest-rank on both, as
 * `llamonitor stats` takes them: the smallest value whose rank in its group is
 * at least ceil(p × n), from ROW_NUMBER() and COUNT() over the group.
 * `timestamp` is a DATETIME(6) holding UTC, so no session time zone applies.
 */
import { isoMicrosToMySql } from '../../schema/timestamps.js';
import type { SqlDialect } from '../call-queries.js';
import { quoteIdentifier } from './ddl.js';

const EPOCH = `'1970-01-01 00:00:00'`;
const METRICS = '`text_custom_metrics`';
const ATTRIBUTES = '`custom_attributes`';

export const mysqlDialect: SqlDialect = {
  placeholder: () => '?',
  identifier: quoteIdentifier,
  time: (placeholder) => placeholder,
  timeValue: isoMicrosToMySql,
  epochMicros: `TIMESTAMPDIFF(MICROSECOND, ${EPOCH}, \`timestamp\`)`,
  bucketStart: (seconds) => `(TIMESTAMPDIFF(SECOND, ${EPOCH}, \`timestamp\`) DIV ${seconds}) * ${seconds}`,
  // UNIX_TIMESTAMP of a TIMESTAMP column and FROM_UNIXTIME both follow the session's time zone: they agree.
  createdAtMicros: 'CAST(UNIX_TIMESTAMP(`created_at`) * 1000000 AS SIGNED)',
  createdAfter: (placeholder) => `FROM_UNIXTIME(${placeholder} / 1000000)`,
  eventIdText: '`event_id`',
  asText: (column) => `CAST(${column} AS CHAR)`,
  costSource: `JSON_UNQUOTE(JSON_EXTRACT(${METRICS}, '$.cost_source'))`,
  prompt: `JSON_UNQUOTE(JSON_EXTRACT(${ATTRIBUTES}, '$.prompt'))`,
  completion: `JSON_UNQUOTE(JSON_EXTRACT(${ATTRIBUTES}, '$.completion'))`,
  repeatsUsage: `coalesce(JSON_CONTAINS_PATH(${METRICS}, 'one', '$.aggregate', '$.aggregate_input_tokens', '$.aggregate_output_tokens'), 0)`,
  contains: (text, placeholder) => `${text} LIKE ${placeholder} ESCAPE '!'`,
  percentiles: 'nearest-rank',
  percentile: () => {
    throw new Error('MySQL percentiles are nearest-rank, from window functions');
  },
};
