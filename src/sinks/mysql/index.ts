/**
 * The MySQL / MariaDB sink. The exporter imports this module only for mysql://
 * URLs, so that the mysql2 driver is never required by users of other sinks.
 */
export { MySqlSink, type MySqlSinkOptions } from './mysql-sink.js';
export { MySqlSinkError } from './errors.js';
export {
  MySqlUrlError,
  parseMySqlUrl,
  type MySqlConnectionConfig,
  type TlsMode,
} from './connection-config.js';
export type { BulkPath } from './capabilities.js';
