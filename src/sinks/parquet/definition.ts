/**
 * The Parquet sink as the registry knows it: a `file://` URL or a plain path,
 * the folder that holds one dataset folder per table.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../errors.js';
import type { SinkDefinition } from '../sink.js';
import { importDriver } from '../load-driver.js';
import { parquetTypeName } from './parquet-schema.js';

export interface ParquetTarget {
  /** The folder that holds one dataset folder per table, absolute. */
  readonly directory: string;
}

/** The folder a `file://` URL or a plain path names, absolute; a ConfigError for a file URL it cannot use. */
function directoryOf(url: string): string {
  if (!/^file:/i.test(url)) return resolve(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('not a valid file URL; expected file:///absolute/folder, or give a plain path');
  }
  if (parsed.search || parsed.hash) {
    throw new ConfigError('a file:// URL takes no parameters; give file:///absolute/folder');
  }
  try {
    return fileURLToPath(parsed);
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}; give file:///absolute/folder, or a plain path`);
  }
}

export const parquetSink: SinkDefinition<ParquetTarget> = {
  kind: 'parquet',
  schemes: ['file'],
  takesPlainPaths: true,
  columnType: parquetTypeName,
  parseTarget(url) {
    const directory = directoryOf(url);
    return { display: directory, secrets: [], directory, config: { directory } };
  },
  async load() {
    const { ParquetSink } = await importDriver(
      'Parquet',
      ['hyparquet-writer', 'hyparquet'],
      () => import('./parquet-sink.js'),
    );
    return ({ directory }, settings) =>
      new ParquetSink(directory, {
        ...settings,
        fileRows: settings.parquetFileRows,
        fileAgeMillis: settings.parquetFileAgeMillis,
      });
  },
};
