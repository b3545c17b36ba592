/** Each dialect-neutral column kind as MySQL and MariaDB declare it: the Python table's types. */
import type { ColumnSpec } from '../../schema/columns.js';

export function mysqlType(spec: ColumnSpec): string {
  switch (spec.kind) {
    case 'uuid':
      return `CHAR(${spec.maxLength ?? 36})`;
    case 'string':
      return `VARCHAR(${spec.maxLength ?? 255})`;
    case 'text':
      return 'TEXT';
    case 'timestamp':
      // A time the server fills keeps the seed's TIMESTAMP; one the rows carry keeps microseconds.
      return spec.databaseDefault === undefined ? 'DATETIME(6)' : 'TIMESTAMP';
    case 'double':
      return 'DOUBLE';
    case 'int32':
      return 'INT';
    case 'int64':
      return 'BIGINT';
    case 'json':
      return 'JSON';
  }
}
