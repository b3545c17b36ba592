/**
 * mapping_vs_otlp: toMetricEvent over the mixed spans against OpenTelemetry's
 * own OTLP transform + protobuf serialisation of the same spans. The
 * measurement itself is bench/mapping.ts's `measureMapping`.
 *
 * mapping_worst_span_ms: the longest one toMetricEvent holds the event loop,
 * over the large spans of issue 12 (two 14 MB message lists; 14 MB of
 * messages and 10 MB of text; a 20 MB image): the median over rounds of the
 * slowest span's time (`measureLargeSpans`).
 */
import { availableParallelism, loadavg } from 'node:os';
import { measureLargeSpans, measureMapping } from '../mapping.js';
import { row } from '../report.js';
import { progress, runGroup } from '../support/child.js';
import { median, spreadOf } from '../support/stats.js';

runGroup(async (settings) => {
  progress(`mapping: ${settings.rows} spans, ${settings.rounds} rounds`);
  const measured = await measureMapping(settings.rows, settings.rounds);
  const perSecond = (millis: number) => (measured.spanCount / millis) * 1000;
  const ratios = measured.mappingMillis.map((millis, round) => measured.otlpMillis[round]! / millis);
  const cpuRatios = measured.mappingCpuMillis.map((millis, round) => measured.otlpCpuMillis[round]! / millis);
  progress(`mapping: the large spans, ${Math.max(settings.rounds, 5)} rounds`);
  const large = await measureLargeSpans(Math.max(settings.rounds, 5));
  const perSpan = large.spans.map((span, i) => ({
    ...span,
    wall: median(large.millis.map((round) => round[i]!)),
    cpu: median(large.cpuMillis.map((round) => round[i]!)),
  }));
  const worstPerRound = large.millis.map((round) => Math.max(...round));
  return [
    row({
      name: 'mapping_vs_otlp',
      value: perSecond(median(measured.mappingMillis)),
      unit: 'spans/s',
      reference: perSecond(median(measured.otlpMillis)),
      ratio: median(ratios),
      // Issue 14: with every feature that is on by default (cost included), at least 1.2.
      target: 'ratio >= 1.2',
      spread: spreadOf(ratios),
      note: `toMetricEvent (dist/, the bundled price table: cost on) vs @opentelemetry/otlp-transformer ProtobufTraceSerializer in 512-span batches; ${measured.spanCount} spans of ${measured.fixtureShapes} fixture shapes, both sides taking turns every 5,120 spans; the same ratio by process CPU time ${median(cpuRatios).toFixed(2)}`,
    }),
    row({
      name: 'mapping_worst_span_ms',
      value: median(worstPerRound),
      unit: 'ms',
      reference: null,
      ratio: null,
      target: 'value <= 20',
      spread: spreadOf(worstPerRound),
      note: `one toMetricEvent (dist/, maxMeasuredBytes 1 MiB), the slowest of: ${perSpan
        .map(
          (span) =>
            `${span.label} (${(span.chars / 1e6).toFixed(1)} M chars): ${span.wall.toFixed(1)} ms, CPU ${span.cpu.toFixed(1)} ms`,
        )
        .join('; ')}; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
    }),
  ];
});
