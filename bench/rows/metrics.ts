/**
 * metrics_vs_mapping: what recording the GenAI metrics of a row costs the
 * application's thread (GenAiMetrics.record, as the exporter calls it once a
 * batch is mapped, on the SDK's MeterProvider with the Prometheus exporter as
 * its reader), against the mapping of the same spans (toMetricEvent), slice by
 * slice, taking turns, in CPU time. The ratio is metrics ÷ mapping: the share
 * the metrics add to the mapping. A scrape of the endpoint (the exposition's
 * serialisation) closes each round and is timed apart.
 *
 *   bench/rows/metrics.ts <settings-json>
 */
import { createRequire } from 'node:module';
import { metrics } from '@opentelemetry/api';
import { row } from '../report.js';
import { built, llamonitor, type MetricEvent } from '../support/built.js';
import { progress, runGroup } from '../support/child.js';
import { endedSpans } from '../support/span-templates.js';
import { median, spreadOf } from '../support/stats.js';

const { GenAiMetrics } =
  await built<typeof import('../../src/metrics/genai-metrics.js')>('metrics/genai-metrics.js');
const require = createRequire(import.meta.url);
const { PrometheusExporter } =
  require('@opentelemetry/exporter-prometheus') as typeof import('@opentelemetry/exporter-prometheus');
const { MeterProvider } =
  require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');

const SLICE = 512;

/** CPU milliseconds `run` takes on this process. */
function cpuMillis(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

runGroup(async (settings) => {
  const spans = endedSpans(settings.rows);
  const rows = spans.map((span) => llamonitor.toMetricEvent(span));
  const mapped = rows.filter((r): r is MetricEvent => r !== undefined);
  progress(`metrics: ${spans.length} spans (${mapped.length} rows), ${settings.rounds} rounds`);
  const mappingPerRound: number[] = [];
  const metricsPerRound: number[] = [];
  const scrapeMillis: number[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    // A new provider each round: series as a long-running process has them, built up from nothing.
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [reader] });
    const genAi = new GenAiMetrics({ meterProvider: () => provider, maxModels: 100 });
    let mapping = 0;
    let recording = 0;
    let mappingFirst = round % 2 === 0;
    for (let from = 0; from < spans.length; from += SLICE) {
      const to = Math.min(from + SLICE, spans.length);
      const slice = rows.slice(from, to).filter((r): r is MetricEvent => r !== undefined);
      const map = () =>
        (mapping += cpuMillis(() => spans.slice(from, to).forEach((s) => llamonitor.toMetricEvent(s))));
      const record = () => (recording += cpuMillis(() => genAi.record(slice)));
      if (mappingFirst) {
        map();
        record();
      } else {
        record();
        map();
      }
      mappingFirst = !mappingFirst;
    }
    const scrape = performance.now();
    await new Promise<void>((resolve) =>
      reader.getMetricsRequestHandler(
        {} as never,
        {
          statusCode: 200,
          setHeader: () => undefined,
          end: () => resolve(),
        } as never,
      ),
    );
    scrapeMillis.push(performance.now() - scrape);
    mappingPerRound.push(mapping);
    metricsPerRound.push(recording);
    await provider.shutdown();
  }
  metrics.disable();
  const perSpan = (millis: number) => (millis * 1000) / spans.length;
  const ratios = metricsPerRound.map((millis, round) => millis / mappingPerRound[round]!);
  return [
    row({
      name: 'metrics_vs_mapping',
      value: perSpan(median(metricsPerRound)),
      unit: 'µs/span',
      reference: perSpan(median(mappingPerRound)),
      ratio: median(ratios),
      // The floor is sdk-metrics' own record (about 1.5 µs, hashing the attributes) times three histograms a call.
      target: 'ratio <= 0.4',
      spread: spreadOf(ratios),
      note: `GenAiMetrics.record (dist/) of the rows of ${spans.length} spans of the mixed traces (${mapped.length} rows), on @opentelemetry/sdk-metrics with the Prometheus exporter as reader, against toMetricEvent of the same spans, ${SLICE}-span slices taking turns, process CPU time; one scrape's serialisation after each round: median ${median(scrapeMillis).toFixed(1)} ms`,
    }),
  ];
});
