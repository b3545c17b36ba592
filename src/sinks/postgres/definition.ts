/**
 * The PostgreSQL sink as the registry knows it: its URL is checked here,
 * without the driver; `pg` and `pg-copy-streams` are imported on first use.
 */
import type { SinkDefinition } from '../sink.js';
import { importDriver } from '../load-driver.js';
import { postgresType } from './column-types.js';
import { postgresConnectionConfig, type PostgresConnectionConfig } from './connection-config.js';

export const postgresSink: SinkDefinition<PostgresConnectionConfig> = {
  kind: 'postgres',
  schemes: ['postgres', 'postgresql'],
  takesPlainPaths: false,
  columnType: postgresType,
  parseTarget(url) {
    const config = postgresConnectionConfig(url);
    return { display: config.target, secrets: config.secrets, config };
  },
  async load() {
    const { PostgresSink } = await importDriver(
      'PostgreSQL',
      ['pg', 'pg-copy-streams'],
      () => import('./postgres-sink.js'),
    );
    return (config, settings) => new PostgresSink(config, settings);
  },
};
