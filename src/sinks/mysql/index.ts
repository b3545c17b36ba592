/**
 * The MySQL / MariaDB sink. Only pool.ts imports the mysql2 driver, on first
 * use: the registry reads `mySqlSink` (its definition), which loads the sink
 * with import() when a mysql:// or mariadb:// URL is used.
 */
export { mySqlSink } from './definition.js';
export { MySqlSink, type MySqlSinkOptions } from './mysql-sink.js';
export { parseMySqlUrl, type MySqlConnectionConfig, type TlsMode } from './connection-config.js';
export type { BulkPath } from './capabilities.js';
