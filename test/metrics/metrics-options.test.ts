/**
 * How the metrics are turned on and what they do at the edges: the global
 * MeterProvider looked up when rows come (an application registers it after
 * the tracer provider), a warning when there is none, the cap on model names,
 * and the options' checks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/config/options.js';
import { ConfigError } from '../../src/errors.js';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { OVERFLOW_VALUE } from '../../src/metrics/bounded-values.js';
import { ConsoleWarnings } from '../../src/warnings.js';
import { MemorySink } from '../support/memory-sink.js';
import { freePort } from '../support/prometheus.js';
import { CHAT_ATTRIBUTES, finishedSpans } from '../support/spans.js';
import { collectingMeterProvider, histogramCount, pointsWith } from './collected-metrics.js';

const folder = mkdtempSync(join(tmpdir(), 'llamonitor-metrics-options-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
afterEach(() => metrics.disable());

function exporterWith(options: Parameters<typeof MetricEventsSpanExporter.withSink>[1]) {
  const sink = new MemorySink();
  const lines: string[] = [];
  const exporter = MetricEventsSpanExporter.withSink(
    sink,
    { spillDir: join(folder, 'spill'), ...options },
    { warnings: new ConsoleWarnings(true, (line) => lines.push(line), new Set()) },
  );
  return { exporter, sink, lines };
}

function exported(exporter: MetricEventsSpanExporter, spans = finishedSpans(2)): Promise<number> {
  return new Promise((resolve) => exporter.export(spans, (result) => resolve(result.code)));
}

describe("metrics: 'otel' on the global MeterProvider", () => {
  it('records on a global provider registered after the exporter was built', async () => {
    const { exporter, sink } = exporterWith({ metrics: 'otel' });
    const meters = collectingMeterProvider();
    metrics.setGlobalMeterProvider(meters.provider);
    await exported(exporter);
    const points = (await meters.collect()).histogram('gen_ai.client.operation.duration');
    expect(sink.rows).toHaveLength(2);
    expect(histogramCount(pointsWith(points, { 'gen_ai.request.model': 'gpt-4o-mini' }))).toBe(2);
    await exporter.shutdown();
  });

  it('stores the rows and warns once, saying what to do, while no provider is registered', async () => {
    const { exporter, sink, lines } = exporterWith({ metrics: 'otel' });
    await exported(exporter);
    await exported(exporter);
    expect(sink.rows).toHaveLength(4);
    expect(lines).toEqual([
      expect.stringMatching(
        /^llamonitor-otel: LLAMONITOR_METRICS=otel, but no MeterProvider is registered.*register one/,
      ),
    ]);
    await exporter.shutdown();
  });

  it('records nothing and looks for no provider with metrics off, the default', async () => {
    const { exporter, sink, lines } = exporterWith({});
    const meters = collectingMeterProvider();
    metrics.setGlobalMeterProvider(meters.provider);
    await exported(exporter);
    expect(sink.rows).toHaveLength(2);
    expect((await meters.collect()).metrics.size).toBe(0);
    expect(lines).toEqual([]);
    await exporter.shutdown();
  });
});

describe("metrics: 'prometheus'", () => {
  it('serves /metrics on prometheusHost:prometheusPort while the exporter runs, and stops at shutdown', async () => {
    const port = await freePort();
    const { exporter } = exporterWith({ metrics: 'prometheus', prometheusPort: port });
    await exported(exporter);
    const body = await waitForText(
      `http://127.0.0.1:${port}/metrics`,
      'gen_ai_client_operation_duration_count',
    );
    expect(body).toMatch(
      /gen_ai_client_operation_duration_count\{[^}]*gen_ai_request_model="gpt-4o-mini"[^}]*\} 2/,
    );
    await exporter.shutdown();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('warns once and keeps storing rows when its port is taken', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    const { exporter, sink, lines } = exporterWith({ metrics: 'prometheus', prometheusPort: port });
    await exported(exporter);
    for (let waited = 0; lines.length === 0 && waited < 10_000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lines).toEqual([
      expect.stringContaining(`the Prometheus endpoint could not listen on 127.0.0.1:${port}`),
    ]);
    expect(sink.rows).toHaveLength(2);
    await exporter.shutdown();
    busy.close();
  });
});

/** The body of `url` once it holds `text`; fails after a bound. */
async function waitForText(url: string, text: string): Promise<string> {
  for (let waited = 0; ; waited += 50) {
    const body = await fetch(url).then(
      (response) => response.text(),
      () => '',
    );
    if (body.includes(text)) return body;
    if (waited > 10_000) throw new Error(`${url} did not serve ${text} within 10 s: ${body}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the cap on model names', () => {
  it('records model names past metricsMaxModels as _OTHER, and says so once; the rows keep every name', async () => {
    const meters = collectingMeterProvider();
    const { exporter, sink, lines } = exporterWith({ meterProvider: meters.provider, metricsMaxModels: 2 });
    const spansOf = (model: string) =>
      finishedSpans(1, { ...CHAT_ATTRIBUTES, 'gen_ai.request.model': model, 'gen_ai.response.model': model });
    for (const model of ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1', 'o3']) await exported(exporter, spansOf(model));
    const points = (await meters.collect()).histogram('gen_ai.client.operation.duration');
    expect(sink.rows.map((row) => row.model)).toEqual(['gpt-4o-mini', 'gpt-4o', 'gpt-4.1', 'o3']);
    expect(points.map((point) => point.attributes['gen_ai.request.model']).sort()).toEqual(
      [OVERFLOW_VALUE, 'gpt-4o', 'gpt-4o-mini'].sort(),
    );
    expect(histogramCount(pointsWith(points, { 'gen_ai.request.model': OVERFLOW_VALUE }))).toBe(2);
    expect(lines).toEqual([expect.stringContaining('more than 2 model names were seen')]);
    await exporter.shutdown();
  });
});

describe('the metrics options', () => {
  it('reads LLAMONITOR_METRICS, LLAMONITOR_PROMETHEUS_HOST/PORT and LLAMONITOR_METRICS_MAX_MODELS', () => {
    expect(resolveOptions({}, {})).toMatchObject({
      metrics: 'off',
      prometheusHost: '127.0.0.1',
      prometheusPort: 9464,
      metricsMaxModels: 100,
    });
    expect(
      resolveOptions(
        {},
        {
          LLAMONITOR_METRICS: 'prometheus',
          LLAMONITOR_PROMETHEUS_HOST: '0.0.0.0',
          LLAMONITOR_PROMETHEUS_PORT: '9100',
          LLAMONITOR_METRICS_MAX_MODELS: '20',
        },
      ),
    ).toMatchObject({
      metrics: 'prometheus',
      prometheusHost: '0.0.0.0',
      prometheusPort: 9100,
      metricsMaxModels: 20,
    });
  });

  it.each([
    [
      { LLAMONITOR_METRICS: 'prom' },
      "LLAMONITOR_METRICS=prom is not allowed: use 'off' or 'otel' or 'prometheus'",
    ],
    [
      { LLAMONITOR_PROMETHEUS_PORT: '70000' },
      'LLAMONITOR_PROMETHEUS_PORT=70000 is not allowed: use a whole number from 1 to 65535',
    ],
    [{ LLAMONITOR_METRICS_MAX_MODELS: '0' }, 'LLAMONITOR_METRICS_MAX_MODELS=0 is not allowed'],
  ])('stops start-up on %j', (env, message) => {
    expect(() => resolveOptions({}, env)).toThrow(ConfigError);
    expect(() => resolveOptions({}, env)).toThrow(message);
  });

  it('takes a meterProvider given in code as metrics otel, and refuses it beside another mode', () => {
    const { provider } = collectingMeterProvider();
    expect(resolveOptions({ meterProvider: provider }, {}).metrics).toBe('otel');
    expect(() => resolveOptions({ meterProvider: provider }, { LLAMONITOR_METRICS: 'prometheus' })).toThrow(
      'meterProvider is given, but LLAMONITOR_METRICS=prometheus',
    );
    expect(() => resolveOptions({ meterProvider: {} as never }, {})).toThrow(
      'meterProvider is not allowed: use a MeterProvider',
    );
  });
});
