/**
 * What `node --import llamonitor-otel/register` sets up: a NodeTracerProvider
 * with MetricEventsSpanProcessor, configured from the environment, registered
 * globally, and flushed and shut down on SIGTERM, SIGINT and beforeExit.
 */
import { diag, DiagConsoleLogger, DiagLogLevel, ProxyTracerProvider, trace } from '@opentelemetry/api';
import { defaultResource, detectResources, envDetector } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { MetricEventsExporterOptions } from '../config/options.js';
import { MetricEventsSpanProcessor } from './processor.js';
import { shutdownOnExit } from './shutdown-on-exit.js';

export interface Registration {
  readonly processor: MetricEventsSpanProcessor;
  /** Flushes and shuts down within the exporter's shutdown deadline; safe to call more than once. */
  readonly shutdown: () => Promise<void>;
}

/** True when some tracer provider is already registered with the global API. */
export function tracerProviderRegistered(): boolean {
  const noop = new ProxyTracerProvider().getDelegate();
  const current = trace.getTracerProvider();
  const delegate = current instanceof ProxyTracerProvider ? current.getDelegate() : current;
  return delegate !== noop;
}

/** Routes OpenTelemetry's diag to the console at OTEL_LOG_LEVEL (default warn), as NodeSDK does. */
function ensureDiagLogger(env: NodeJS.ProcessEnv): void {
  const name = (env.OTEL_LOG_LEVEL ?? 'warn').toUpperCase();
  const level = DiagLogLevel[name as keyof typeof DiagLogLevel] ?? DiagLogLevel.WARN;
  diag.setLogger(new DiagConsoleLogger(), { logLevel: level, suppressOverrideMessage: true });
}

/**
 * Registers a tracer provider writing metric_events rows, unless one is already
 * registered. Synchronous, so that the provider exists before the app's first
 * span. Throws ConfigError for a bad LLAMONITOR_* value.
 */
export function registerGlobally(
  options: MetricEventsExporterOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Registration | undefined {
  ensureDiagLogger(env);
  if (tracerProviderRegistered()) {
    diag.warn(
      'llamonitor-otel: a tracer provider is already registered, so llamonitor-otel/register did not register a second one; ' +
        'add new MetricEventsSpanProcessor() to that provider’s spanProcessors instead',
    );
    return undefined;
  }
  const processor = new MetricEventsSpanProcessor(options);
  const resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  processor.exporter.connectInBackground();

  const shutdown = shutdownOnExit(provider);
  return { processor, shutdown };
}
