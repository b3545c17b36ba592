/**
 * The MySQL / MariaDB sink as the registry knows it: its URL is checked here,
 * without the driver; `mysql2` is imported on first use.
 */
import type { SinkDefinition } from '../sink.js';
import { importDriver } from '../load-driver.js';
import { parseMySqlUrl, type MySqlConnectionConfig } from './connection-config.js';

export const mySqlSink: SinkDefinition<MySqlConnectionConfig> = {
  kind: 'mysql',
  schemes: ['mysql', 'mariadb'],
  takesPlainPaths: false,
  parseTarget(url) {
    const config = parseMySqlUrl(url);
    return { display: config.target, secrets: config.secrets, config };
  },
  async load() {
    const [{ MySqlSink }, { loadMySqlDriver }] = await Promise.all([
      importDriver('MySQL', ['mysql2'], () => import('./mysql-sink.js')),
      import('./pool.js'),
    ]);
    // The sink loads mysql2 only when it connects: a missing driver is named now instead.
    await loadMySqlDriver();
    return (config, settings) => new MySqlSink(config, settings);
  },
};
