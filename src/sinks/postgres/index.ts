/**
 * The PostgreSQL sink. Only this folder imports `pg` and `pg-copy-streams`,
 * and only from postgres-sink.ts: the registry reads `postgresSink` (its
 * definition), which loads the sink with import() when a postgres:// URL is used.
 */
export { postgresSink } from './definition.js';
export { PostgresSink } from './postgres-sink.js';
export { postgresConnectionConfig, type PostgresConnectionConfig } from './connection-config.js';
