/**
 * The MySQL / MariaDB sink. The exporter imports this module only for mysql://
 * URLs, so that the mysql2 driver is never required by users of other sinks.
 */
import type { Sink, SinkOptions } from '../sink.js';
import { MySqlSink } from './mysql-sink.js';

export { MySqlSink, type MySqlSinkOptions } from './mysql-sink.js';
export {
  MySqlUrlError,
  parseMySqlUrl,
  type MySqlConnectionConfig,
  type TlsMode,
} from './connection-config.js';
export type { BulkPath } from './capabilities.js';

/** The sink for a mysql:// (or mariadb://) URL; connects on prepare() or the first write. */
export function createMySqlSink(url: string, options: SinkOptions): Sink {
  return new MySqlSink(url, options);
}
