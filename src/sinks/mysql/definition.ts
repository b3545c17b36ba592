/**
 * The MySQL / MariaDB sink as the registry knows it: its URL is checked here,
 * without the driver; `mysql2` is imported on first use.
 */
import type { SinkDefinition } from '../sink.js';
import { mysqlType } from './column-types.js';
import { parseMySqlUrl, type MySqlConnectionConfig } from './connection-config.js';

export const mySqlSink: SinkDefinition<MySqlConnectionConfig> = {
  kind: 'mysql',
  schemes: ['mysql', 'mariadb'],
  takesPlainPaths: false,
  columnType: mysqlType,
  parseTarget(url) {
    const config = parseMySqlUrl(url);
    return { display: config.target, secrets: config.secrets, config };
  },
  async load() {
    // The sink's module imports only mysql2's types; the driver itself is loaded (or named missing) here.
    const [{ MySqlSink }, { loadMySqlDriver }] = await Promise.all([
      import('./mysql-sink.js'),
      import('./pool.js'),
    ]);
    await loadMySqlDriver();
    return (config, settings) => new MySqlSink(config, settings);
  },
};
