/**
 * The PostgreSQL sink. Only this folder imports `pg` and `pg-copy-streams`:
 * the package loads it with import() when a postgres:// URL is configured.
 */
import type { Sink, SinkOptions } from '../sink.js';
import { PostgresSink } from './postgres-sink.js';

export { PostgresSink } from './postgres-sink.js';
export { ConnectionConfigError } from './connection-config.js';

export function createPostgresSink(url: string, options: SinkOptions): Sink {
  return new PostgresSink(url, options);
}
