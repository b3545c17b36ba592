/**
 * Where the metrics of the rows go, by the `metrics` option: `otel` records
 * on the application's MeterProvider (the one given in code, else the global
 * one); `prometheus` starts @opentelemetry/exporter-prometheus with a
 * MeterProvider of its own, serving /metrics until shutdown.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { metrics, type MeterProvider } from '@opentelemetry/api';
import type { ResolvedOptions } from '../config/options.js';
import { ConfigError } from '../errors.js';
import type { MetricEvent } from '../schema/columns.js';
import type { ConsoleWarnings } from '../warnings.js';
import { GenAiMetrics } from './genai-metrics.js';

export interface RowMetrics {
  /** Records the model calls among rows about to be stored. Never throws. */
  record(rows: readonly MetricEvent[]): void;
  /** Stops what the package started (the Prometheus endpoint); an application's own provider is left alone. */
  shutdown(): Promise<void>;
}

export const PROMETHEUS_PACKAGE = '@opentelemetry/exporter-prometheus';

/** The metrics the options ask for; undefined when `metrics` is `off`. Throws ConfigError when a package is missing. */
export function rowMetricsOf(options: ResolvedOptions, warnings: ConsoleWarnings): RowMetrics | undefined {
  if (options.metrics === 'off') return undefined;
  const served = options.metrics === 'prometheus' ? servePrometheus(options, warnings) : undefined;
  const given = options.meterProvider;
  const genAi = new GenAiMetrics({
    meterProvider: served ? () => served.provider : given ? () => given : () => metrics.getMeterProvider(),
    maxModels: options.metricsMaxModels,
    meterVersion: packageVersion(),
    noProvider: () =>
      warnings.once(
        'metrics-no-provider',
        'LLAMONITOR_METRICS=otel, but no MeterProvider is registered, so no metrics are recorded: ' +
          "register one (NodeSDK with a metricReader, or metrics.setGlobalMeterProvider), pass meterProvider, or use metrics 'prometheus'",
      ),
    modelsCapped: (max) =>
      warnings.once(
        'metrics-models-capped',
        `more than ${max} model names were seen: later ones are recorded as _OTHER in the metrics ` +
          '(the rows keep them); raise LLAMONITOR_METRICS_MAX_MODELS if that many are expected',
      ),
  });
  return {
    record(rows) {
      try {
        genAi.record(rows);
      } catch (error) {
        warnings.once('metrics-record', `metrics of a batch could not be recorded: ${String(error)}`);
      }
    },
    shutdown: async () => {
      await served?.provider.shutdown();
    },
  };
}

interface ServedProvider {
  readonly provider: MeterProvider & { shutdown(): Promise<void> };
}

/**
 * The exporter's MeterProvider, its resource from OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES as the register entry's tracer provider has it.
 * sdk-metrics and resources are loaded from where exporter-prometheus finds
 * them, so that its reader and the provider are of one copy.
 */
function servePrometheus(options: ResolvedOptions, warnings: ConsoleWarnings): ServedProvider {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(PROMETHEUS_PACKAGE);
  } catch {
    throw new ConfigError(
      `metrics 'prometheus' needs ${PROMETHEUS_PACKAGE}, which is not installed. Install it in your application: npm install ${PROMETHEUS_PACKAGE}`,
    );
  }
  const { PrometheusExporter } = require(entry) as typeof import('@opentelemetry/exporter-prometheus');
  const besideIt = createRequire(entry);
  const { MeterProvider } = besideIt(
    '@opentelemetry/sdk-metrics',
  ) as typeof import('@opentelemetry/sdk-metrics');
  const resources = besideIt('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { prometheusHost: host, prometheusPort: port } = options;
  const reader = new PrometheusExporter({ host, port }, (error) => {
    if (error === undefined) return;
    warnings.once(
      'metrics-prometheus-listen',
      `the Prometheus endpoint could not listen on ${host}:${port} (${String(error)}), so no metrics are served: ` +
        'set LLAMONITOR_PROMETHEUS_PORT to a free port',
    );
  });
  const resource = resources
    .defaultResource()
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  return { provider: new MeterProvider({ resource, readers: [reader] }) };
}

let version: string | undefined;

/** The package's version, for the meter's scope. */
function packageVersion(): string | undefined {
  try {
    // dist/metrics/ and src/metrics/ both sit two folders below package.json.
    version ??= (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    // No version in the scope: the metrics are the same.
  }
  return version;
}
