/** Each dialect-neutral column kind as PostgreSQL declares it. */
import type { ColumnSpec } from '../../schema/columns.js';

export function postgresType(spec: ColumnSpec): string {
  switch (spec.kind) {
    case 'uuid':
      return 'UUID';
    case 'string':
      return `VARCHAR(${spec.maxLength ?? 255})`;
    case 'text':
      return 'TEXT';
    case 'timestamp':
      return 'TIMESTAMPTZ';
    case 'double':
      return 'DOUBLE PRECISION';
    case 'int32':
      return 'INTEGER';
    case 'int64':
      return 'BIGINT';
    case 'json':
      return 'JSONB';
  }
}
