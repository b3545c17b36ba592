/**
 * The sinks, by URL scheme. Each sink's folder exports a definition (sink.ts):
 * the registry picks it by the URL's scheme and has it check the URL at once,
 * without its driver; the sink and its driver are loaded only when built.
 */
import { ConfigError } from '../errors.js';
import type { ColumnSpec } from '../schema/columns.js';
import { mySqlSink } from './mysql/definition.js';
import { parquetSink } from './parquet/definition.js';
import { postgresSink } from './postgres/definition.js';
import type { Sink, SinkDefinition, SinkKind, SinkSettings } from './sink.js';

/** A URL checked by its sink's definition: what messages may show of it, and how to build the sink. */
export interface SinkTarget {
  readonly kind: SinkKind;
  /** Where rows go, password masked. */
  readonly display: string;
  /** Every form of every secret in the URL: no message may hold one. */
  readonly secrets: readonly string[];
  /** The folder that holds one dataset folder per table, for sinks that write local files. */
  readonly directory: string | undefined;
  /** Loads the sink and its driver and builds it; a ConfigError naming what to install when the driver is missing. */
  create(settings: SinkSettings): Promise<Sink>;
}

/** A definition with its configuration type hidden, so that the registry can hold them in one list. */
interface Registered {
  readonly kind: SinkKind;
  readonly schemes: readonly string[];
  readonly takesPlainPaths: boolean;
  readonly columnType: (column: ColumnSpec) => string;
  readonly targetOf: (url: string) => SinkTarget;
}

function register<Config>(definition: SinkDefinition<Config>): Registered {
  return {
    kind: definition.kind,
    schemes: definition.schemes,
    takesPlainPaths: definition.takesPlainPaths,
    columnType: definition.columnType,
    targetOf: (url) => {
      const parsed = definition.parseTarget(url);
      return {
        kind: definition.kind,
        display: parsed.display,
        secrets: parsed.secrets,
        directory: parsed.directory,
        create: async (settings) => (await definition.load())(parsed.config, settings),
      };
    },
  };
}

/** Every sink, in the order messages list them. */
const SINKS: readonly Registered[] = [register(postgresSink), register(mySqlSink), register(parquetSink)];

/** Each sink's type for `column`, by sink kind, in the order messages list the sinks (docs and tests render tables from it). */
export function columnTypes(column: ColumnSpec): ReadonlyMap<SinkKind, string> {
  return new Map(SINKS.map((sink) => [sink.kind, sink.columnType(column)]));
}

/** At least two characters, so that a Windows drive letter is no scheme. */
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

/** The URLs the sinks take, for messages: `postgres://, postgresql://, ..., file:// or a plain path`. */
export function allowedUrls(): string {
  const schemes = SINKS.flatMap((sink) => sink.schemes.map((scheme) => `${scheme}://`));
  return `${schemes.join(', ')} or a plain path`;
}

/**
 * The sink `url` means, its URL checked by that sink: throws a ConfigError that
 * says what is wrong and what is allowed, and never holds the URL.
 */
export function sinkTargetOf(url: string): SinkTarget {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  const sink = SINKS.find((s) => (scheme === undefined ? s.takesPlainPaths : s.schemes.includes(scheme)));
  if (!sink) throw new ConfigError(`unknown scheme '${scheme}:'; use ${allowedUrls()}`);
  return sink.targetOf(url);
}
