/**
 * The exporter's options: one declaration per option gives its environment
 * variable, its default and what it allows, so code and environment are checked
 * alike and every message names the option or variable, the value and what is
 * allowed. A bad value stops start-up; it never falls back to a default silently.
 */
import { readFileSync } from 'node:fs';
import type { MeterProvider } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  checkCustomPricesOption,
  parseCustomPriceFile,
  type CheckedCustomPrices,
  type CustomPrices,
} from '../pricing/custom-prices.js';
import type { MetricEvent } from '../schema/columns.js';
import type { SpanFilter } from '../mapping/span-like.js';
import { FILE_MODES, type FileMode } from '../sinks/file-modes.js';
import { ConfigError } from '../errors.js';
import { assertIdentifier, InvalidIdentifierError } from '../schema/identifier.js';
import { maskUrl } from '../secrets.js';
import { allowedUrls, sinkTargetOf, type SinkTarget } from '../sinks/registry.js';
import { ConsoleWarnings } from '../warnings.js';
import { checkSpillApart } from './spill-folder.js';
import { unknownVariables } from './unknown-variables.js';

/** Changes or adds to a row before it is written; an error in it is logged and the row kept as mapped. */
export type EnrichHook = (span: ReadableSpan, event: MetricEvent) => MetricEvent | void;

export interface MetricEventsExporterOptions {
  /** Where rows go: `postgres://`, `postgresql://`, `mysql://`, `mariadb://`, `file:///dir` or a plain path. Env LLAMONITOR_URL; default `./llamonitor-data`. */
  url?: string;
  /** Table name, or the Parquet dataset folder's name. Env LLAMONITOR_TABLE; default `metric_events`. */
  table?: string;
  /** PostgreSQL schema. Env LLAMONITOR_SCHEMA; default: the connection's search_path. */
  schema?: string;
  /** Database connections. Env LLAMONITOR_POOL_SIZE; default 4. */
  poolSize?: number;
  /** `llm`: only spans that carry an LLM convention; `all`: every span. Env LLAMONITOR_SPANS; default `llm`. */
  spans?: SpanFilter;
  /** Store prompt and completion text (bounded) in custom_attributes. Env LLAMONITOR_CAPTURE_CONTENT; default false. */
  captureContent?: boolean;
  /** Count the tokens of an OpenAI model's call that carries no usage (a streamed answer, an OpenInference embedding) with its tokenizer, off the application's thread. Env LLAMONITOR_ESTIMATE_TOKENS; default true. */
  estimateTokens?: boolean;
  /** Create the table and indexes when missing, and add the columns of a newer schema version to an existing table. Env LLAMONITOR_CREATE_TABLE; default true. */
  createTable?: boolean;
  /** Where batches go that the sink could not take in time. Env LLAMONITOR_SPILL_DIR; default `./llamonitor-spill`. */
  spillDir?: string;
  /** Deadline of one export, retries included. Env LLAMONITOR_EXPORT_TIMEOUT_MS; default 30000. */
  exportTimeoutMillis?: number;
  /** Deadline of shutdown(): flush, spill what is left, close. Env LLAMONITOR_SHUTDOWN_TIMEOUT_MS; default 10000. */
  shutdownTimeoutMillis?: number;
  /** Bytes of rows held by writes in flight; past it, batches go to the spill. Env LLAMONITOR_MAX_INFLIGHT_BYTES; default 64 MiB. */
  maxInflightBytes?: number;
  /** Size cap of the spill folder; past it the oldest files go. Env LLAMONITOR_SPILL_MAX_BYTES; default 1 GiB. */
  spillMaxBytes?: number;
  /** Rows per Parquet file at most. Env LLAMONITOR_PARQUET_FILE_ROWS; default 100000. */
  parquetFileRows?: number;
  /** Age at which an open Parquet file is closed. Env LLAMONITOR_PARQUET_FILE_AGE_MS; default 60000. */
  parquetFileAgeMillis?: number;
  /**
   * Who may read the files the package writes (spill, dead letters, Parquet): `private` (files 0600,
   * folders 0700) or `group` (0640, 0750, for a group that reads the Parquet files). Env LLAMONITOR_FILE_MODE; default `private`.
   */
  fileMode?: FileMode;
  /**
   * Characters of a span's values measured at most, in all; past it each long value is measured from its
   * head and the row's metrics are marked partial. Env LLAMONITOR_MAX_MEASURED_BYTES; default 1 MiB.
   */
  maxMeasuredBytes?: number;
  /**
   * The package's own console warnings (first failed write, first spill, no LLM span seen, an unknown
   * LLAMONITOR_* variable); off sends them to OpenTelemetry's diag instead. Env LLAMONITOR_WARNINGS; default on.
   */
  warnings?: boolean;
  /**
   * Custom prices, winning over the bundled table (@pydantic/genai-prices): an object `{ models: [...] }`
   * or the path of a JSON file of that shape. Env LLAMONITOR_PRICES (a path); default none.
   */
  prices?: CustomPrices | string;
  /**
   * Fetch genai-prices' published price data at start and once a day, and price with it (one GET of a
   * JSON file on raw.githubusercontent.com). Env LLAMONITOR_PRICES_AUTO_UPDATE; default false: no network.
   */
  pricesAutoUpdate?: boolean;
  /**
   * A model-call span its instrumentation never ended (OpenLLMetry and OpenInference on a 429 or a 500)
   * gets a row with error_type `span_not_ended` after this long, or 30 s after the local root of its
   * trace ended, or at shutdown; 0 turns it off. MetricEventsSpanProcessor only.
   * Env LLAMONITOR_DANGLING_SPAN_TIMEOUT_MS; default 600000 (10 minutes).
   */
  danglingSpanTimeoutMillis?: number;
  /** Open model-call spans watched for that at most; past it, new ones are not. Env LLAMONITOR_MAX_OPEN_SPANS; default 10000. */
  maxOpenSpans?: number;
  /**
   * GenAI metrics of the stored model calls (tokens, duration, time to first chunk, cost): `off`; `otel`,
   * recorded on `meterProvider` or else the global MeterProvider; `prometheus`, served for scraping on
   * prometheusHost:prometheusPort by @opentelemetry/exporter-prometheus. Env LLAMONITOR_METRICS; default `off`.
   */
  metrics?: MetricsMode;
  /** Where `metrics: 'prometheus'` serves /metrics. Env LLAMONITOR_PROMETHEUS_HOST; default `127.0.0.1`. */
  prometheusHost?: string;
  /** Env LLAMONITOR_PROMETHEUS_PORT; default 9464. */
  prometheusPort?: number;
  /** Distinct model names the metrics keep apart; later ones are recorded as `_OTHER`. Env LLAMONITOR_METRICS_MAX_MODELS; default 100. */
  metricsMaxModels?: number;
  /**
   * Rows whose timestamp is older than this many days are removed, in the background, hourly, by one
   * writer of the table at a time (`llamonitor prune` does it by hand); 0 keeps every row.
   * Env LLAMONITOR_RETENTION_DAYS; default 0.
   */
  retentionDays?: number;
  /**
   * PostgreSQL and MySQL/MariaDB: a table the package creates is partitioned by `day` or `month` of
   * `timestamp` (primary key `(event_id, timestamp)`, partitions kept ahead, a default or MAXVALUE
   * partition for any other row; retention drops whole partitions). Env LLAMONITOR_PARTITION; default `off`.
   */
  partition?: 'off' | 'day' | 'month';
  /**
   * Parquet only: once a day, merge the small files of the days before today into files of
   * parquetFileRows, one writer of the folder at a time (`llamonitor compact` does it by hand).
   * Env LLAMONITOR_PARQUET_COMPACT; default false.
   */
  parquetCompact?: boolean;
  /** The MeterProvider `metrics: 'otel'` records on (giving one implies `otel`); default the global one. Code only. */
  meterProvider?: MeterProvider;
  /** Changes or adds to a row before it is written. Code only. */
  enrich?: EnrichHook;
}

export const METRICS_MODES = ['off', 'otel', 'prometheus'] as const;
export type MetricsMode = (typeof METRICS_MODES)[number];

export type { FileMode, CustomPrices };

/** The options after checking, every default filled in. */
export interface ResolvedOptions {
  readonly url: string;
  /** The URL checked by its sink: what messages show of it, and how to build the sink. */
  readonly target: SinkTarget;
  readonly table: string;
  readonly schema: string | undefined;
  readonly poolSize: number;
  readonly spans: SpanFilter;
  readonly captureContent: boolean;
  readonly estimateTokens: boolean;
  readonly createTable: boolean;
  readonly spillDir: string;
  readonly exportTimeoutMillis: number;
  readonly shutdownTimeoutMillis: number;
  readonly maxInflightBytes: number;
  readonly spillMaxBytes: number;
  readonly parquetFileRows: number;
  readonly parquetFileAgeMillis: number;
  readonly fileMode: FileMode;
  readonly maxMeasuredBytes: number;
  readonly warnings: boolean;
  /** The custom prices, checked; undefined when none are given. */
  readonly prices: CheckedCustomPrices | undefined;
  readonly pricesAutoUpdate: boolean;
  readonly danglingSpanTimeoutMillis: number;
  readonly maxOpenSpans: number;
  readonly metrics: MetricsMode;
  readonly prometheusHost: string;
  readonly prometheusPort: number;
  readonly metricsMaxModels: number;
  readonly retentionDays: number;
  readonly partition: 'off' | 'day' | 'month';
  readonly parquetCompact: boolean;
  readonly meterProvider: MeterProvider | undefined;
  readonly enrich: EnrichHook | undefined;
}

type Kind =
  | { readonly type: 'string' }
  | { readonly type: 'url' }
  | { readonly type: 'identifier'; readonly what: string }
  | { readonly type: 'choice'; readonly choices: readonly string[] }
  | { readonly type: 'boolean' }
  | { readonly type: 'integer'; readonly min: number; readonly max: number }
  | { readonly type: 'prices' };

interface OptionSpec {
  readonly key: Exclude<keyof MetricEventsExporterOptions, 'enrich' | 'meterProvider'>;
  readonly env: string;
  readonly kind: Kind;
  readonly defaultValue: string | number | boolean | undefined;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Every option that has an environment variable, in the order the README lists them. */
export const OPTION_SPECS: readonly OptionSpec[] = [
  { key: 'url', env: 'LLAMONITOR_URL', kind: { type: 'url' }, defaultValue: './llamonitor-data' },
  { key: 'table', env: 'LLAMONITOR_TABLE', kind: { type: 'identifier', what: 'table name' }, defaultValue: 'metric_events' },
  { key: 'schema', env: 'LLAMONITOR_SCHEMA', kind: { type: 'identifier', what: 'schema name' }, defaultValue: undefined },
  { key: 'poolSize', env: 'LLAMONITOR_POOL_SIZE', kind: { type: 'integer', min: 1, max: 1000 }, defaultValue: 4 },
  { key: 'spans', env: 'LLAMONITOR_SPANS', kind: { type: 'choice', choices: ['llm', 'all'] }, defaultValue: 'llm' },
  { key: 'captureContent', env: 'LLAMONITOR_CAPTURE_CONTENT', kind: { type: 'boolean' }, defaultValue: false },
  { key: 'estimateTokens', env: 'LLAMONITOR_ESTIMATE_TOKENS', kind: { type: 'boolean' }, defaultValue: true },
  { key: 'createTable', env: 'LLAMONITOR_CREATE_TABLE', kind: { type: 'boolean' }, defaultValue: true },
  { key: 'spillDir', env: 'LLAMONITOR_SPILL_DIR', kind: { type: 'string' }, defaultValue: './llamonitor-spill' },
  { key: 'exportTimeoutMillis', env: 'LLAMONITOR_EXPORT_TIMEOUT_MS', kind: { type: 'integer', min: 100, max: 86_400_000 }, defaultValue: 30_000 },
  { key: 'shutdownTimeoutMillis', env: 'LLAMONITOR_SHUTDOWN_TIMEOUT_MS', kind: { type: 'integer', min: 100, max: 86_400_000 }, defaultValue: 10_000 },
  { key: 'maxInflightBytes', env: 'LLAMONITOR_MAX_INFLIGHT_BYTES', kind: { type: 'integer', min: 65_536, max: MAX_SAFE }, defaultValue: 64 * 1024 * 1024 },
  { key: 'spillMaxBytes', env: 'LLAMONITOR_SPILL_MAX_BYTES', kind: { type: 'integer', min: 65_536, max: MAX_SAFE }, defaultValue: 1024 * 1024 * 1024 },
  { key: 'parquetFileRows', env: 'LLAMONITOR_PARQUET_FILE_ROWS', kind: { type: 'integer', min: 1, max: 10_000_000 }, defaultValue: 100_000 },
  { key: 'parquetFileAgeMillis', env: 'LLAMONITOR_PARQUET_FILE_AGE_MS', kind: { type: 'integer', min: 100, max: 86_400_000 }, defaultValue: 60_000 },
  { key: 'fileMode', env: 'LLAMONITOR_FILE_MODE', kind: { type: 'choice', choices: FILE_MODES }, defaultValue: 'private' },
  { key: 'maxMeasuredBytes', env: 'LLAMONITOR_MAX_MEASURED_BYTES', kind: { type: 'integer', min: 1_024, max: 1_073_741_824 }, defaultValue: 1024 * 1024 },
  { key: 'warnings', env: 'LLAMONITOR_WARNINGS', kind: { type: 'boolean' }, defaultValue: true },
  { key: 'prices', env: 'LLAMONITOR_PRICES', kind: { type: 'prices' }, defaultValue: undefined },
  { key: 'pricesAutoUpdate', env: 'LLAMONITOR_PRICES_AUTO_UPDATE', kind: { type: 'boolean' }, defaultValue: false },
  { key: 'danglingSpanTimeoutMillis', env: 'LLAMONITOR_DANGLING_SPAN_TIMEOUT_MS', kind: { type: 'integer', min: 0, max: 86_400_000 }, defaultValue: 600_000 },
  { key: 'maxOpenSpans', env: 'LLAMONITOR_MAX_OPEN_SPANS', kind: { type: 'integer', min: 1, max: 10_000_000 }, defaultValue: 10_000 },
  { key: 'metrics', env: 'LLAMONITOR_METRICS', kind: { type: 'choice', choices: METRICS_MODES }, defaultValue: undefined },
  { key: 'prometheusHost', env: 'LLAMONITOR_PROMETHEUS_HOST', kind: { type: 'string' }, defaultValue: '127.0.0.1' },
  { key: 'prometheusPort', env: 'LLAMONITOR_PROMETHEUS_PORT', kind: { type: 'integer', min: 1, max: 65_535 }, defaultValue: 9464 },
  { key: 'metricsMaxModels', env: 'LLAMONITOR_METRICS_MAX_MODELS', kind: { type: 'integer', min: 1, max: 100_000 }, defaultValue: 100 },
  { key: 'retentionDays', env: 'LLAMONITOR_RETENTION_DAYS', kind: { type: 'integer', min: 0, max: 36_500 }, defaultValue: 0 },
  { key: 'partition', env: 'LLAMONITOR_PARTITION', kind: { type: 'choice', choices: ['off', 'day', 'month'] }, defaultValue: 'off' },
  { key: 'parquetCompact', env: 'LLAMONITOR_PARQUET_COMPACT', kind: { type: 'boolean' }, defaultValue: false },
]; // prettier-ignore

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

function allowed(kind: Kind): string {
  switch (kind.type) {
    case 'string':
      return 'a non-empty string';
    case 'url':
      return allowedUrls();
    case 'identifier':
      return '1 to 63 letters, digits and underscores, not starting with a digit';
    case 'choice':
      return kind.choices.map((c) => `'${c}'`).join(' or ');
    case 'boolean':
      return 'true or false';
    case 'integer':
      return `a whole number from ${kind.min} to ${kind.max}`;
    case 'prices':
      return 'the path of a JSON file of custom prices, or (in code) an object { models: [...] }';
  }
}

function shown(spec: OptionSpec, value: unknown): string {
  return spec.kind.type === 'url' && typeof value === 'string' ? maskUrl(value) : String(value);
}

function invalid(spec: OptionSpec, label: string, value: unknown): ConfigError {
  return new ConfigError(`${label}=${shown(spec, value)} is not allowed: use ${allowed(spec.kind)}`);
}

/** Parses an environment variable's text into the option's type. */
function fromText(spec: OptionSpec, text: string): unknown {
  switch (spec.kind.type) {
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      throw invalid(spec, spec.env, text);
    }
    case 'integer':
      if (!/^\s*\d+\s*$/.test(text)) throw invalid(spec, spec.env, text);
      return Number(text);
    default:
      return text.trim();
  }
}

function check(spec: OptionSpec, label: string, value: unknown): string | number | boolean {
  const kind = spec.kind;
  switch (kind.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(spec, label, value);
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < kind.min || value > kind.max) {
        throw invalid(spec, label, value);
      }
      return value;
    case 'choice':
      if (typeof value !== 'string' || !kind.choices.includes(value)) throw invalid(spec, label, value);
      return value;
    case 'identifier':
      if (typeof value !== 'string') throw invalid(spec, label, value);
      try {
        return assertIdentifier(kind.what, value);
      } catch (error) {
        if (error instanceof InvalidIdentifierError) throw invalid(spec, label, value);
        throw error;
      }
    case 'url':
    case 'string':
      if (typeof value !== 'string' || value.trim() === '') throw invalid(spec, label, value);
      return value;
    case 'prices':
      if (typeof value === 'string' && value.trim() !== '') return value;
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw invalid(spec, label, value);
      return value as never;
  }
}

/** Custom prices checked, a file read and checked: a problem stops start-up naming the file's line and field. */
function checkedPrices(
  value: CustomPrices | string | undefined,
  label: string,
): CheckedCustomPrices | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return checkCustomPricesOption(value);
  let text: string;
  try {
    text = readFileSync(value, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(
      `${label}=${value} cannot be read (${reason}): give the path of a JSON file of custom prices`,
    );
  }
  return parseCustomPriceFile(text, value, label);
}

/** The sink `url` means, checked by it; its ConfigError named after the option or variable, the URL masked. */
function targetOf(url: string, label: string): SinkTarget {
  try {
    return sinkTargetOf(url);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`${label}=${maskUrl(url)} is not allowed: ${error.message}`, { cause: error });
  }
}

/**
 * Checks options given in code, fills defaults from the environment where
 * `env` is given (fromEnv, the register entry, the CLI) and from the built-in
 * defaults otherwise. The sink checks its URL here, every parameter included,
 * so that a mistake stops construction. An LLAMONITOR_* variable in `env` that
 * no option reads gets one warning (to `warnings`, by default the console).
 */
export function resolveOptions(
  options: MetricEventsExporterOptions = {},
  env: Readonly<Record<string, string | undefined>> = {},
  warnings?: ConsoleWarnings,
): ResolvedOptions {
  const out: Record<string, unknown> = {};
  /** Where each value came from, for messages: the option's name, or its variable's. */
  const labels: Record<string, string> = {};
  for (const spec of OPTION_SPECS) {
    const fromCode = options[spec.key];
    const text = env[spec.env];
    if (fromCode !== undefined) {
      out[spec.key] = check(spec, spec.key, fromCode);
      labels[spec.key] = spec.key;
    } else if (text !== undefined && text !== '') {
      out[spec.key] = check(spec, spec.env, fromText(spec, text));
      labels[spec.key] = spec.env;
    } else {
      out[spec.key] = spec.defaultValue;
      labels[spec.key] = spec.key;
    }
  }
  if (options.enrich !== undefined && typeof options.enrich !== 'function') {
    throw new ConfigError(`enrich is not allowed: use a function (span, event) => event`);
  }
  const prices = checkedPrices(out['prices'] as CustomPrices | string | undefined, labels.prices as string);
  const metrics = metricsModeOf(
    out['metrics'] as MetricsMode | undefined,
    labels.metrics as string,
    options.meterProvider,
  );
  const resolved = { ...out, prices, metrics } as Omit<
    ResolvedOptions,
    'target' | 'enrich' | 'meterProvider'
  >;
  const target = targetOf(resolved.url, labels.url as string);
  if (resolved.partition !== 'off' && target.kind === 'parquet') {
    throw new ConfigError(
      `${labels.partition as string}=${resolved.partition} is not allowed with ${labels.url as string}=${target.display}: ` +
        `a Parquet dataset is already split by day (date= folders); leave it unset`,
    );
  }
  if (resolved.parquetCompact && target.kind !== 'parquet') {
    throw new ConfigError(
      `${labels.parquetCompact as string}=true is not allowed with ${labels.url as string}=${target.display}: ` +
        `it merges the files of a Parquet dataset, and ${target.kind} keeps one table; leave it unset`,
    );
  }
  if (target.directory !== undefined) {
    checkSpillApart(
      { path: resolved.spillDir, label: labels.spillDir as string },
      { directory: target.directory, table: resolved.table, labels: `${labels.url} and ${labels.table}` },
    );
  }
  const warn = warnings ?? new ConsoleWarnings(resolved.warnings);
  for (const { name, closest } of unknownVariables(env, OPTION_SPECS)) {
    warn.once(
      `unknown-variable ${name}`,
      `${name} is set, but llamonitor-otel reads no such variable and ignores it: did you mean ${closest}?`,
    );
  }
  return { ...resolved, target, enrich: options.enrich, meterProvider: options.meterProvider };
}

/**
 * `metrics` as set, else `otel` when a meterProvider is given (what giving one means), else `off`.
 * A meterProvider beside another mode is a contradiction that stops start-up.
 */
function metricsModeOf(mode: MetricsMode | undefined, label: string, meterProvider: unknown): MetricsMode {
  if (meterProvider === undefined) return mode ?? 'off';
  if (typeof (meterProvider as { getMeter?: unknown }).getMeter !== 'function') {
    throw new ConfigError(`meterProvider is not allowed: use a MeterProvider (an object with getMeter)`);
  }
  if (mode !== undefined && mode !== 'otel') {
    throw new ConfigError(
      `meterProvider is given, but ${label}=${mode}: a meterProvider is recorded on with metrics 'otel'; leave ${label} unset or set it to otel`,
    );
  }
  return 'otel';
}
