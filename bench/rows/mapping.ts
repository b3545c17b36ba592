/**
 * mapping_vs_otlp: toMetricEvent over the mixed spans against OpenTelemetry's
 * own OTLP transform + protobuf serialisation of the same spans. The
 * measurement itself is bench/mapping.ts's `measureMapping`.
 */
import { measureMapping } from '../mapping.js';
import { row } from '../report.js';
import { progress, runGroup } from '../support/child.js';
import { median, spreadOf } from '../support/stats.js';

runGroup(async (settings) => {
  progress(`mapping: ${settings.rows} spans, ${settings.rounds} rounds`);
  const measured = await measureMapping(settings.rows, settings.rounds);
  const perSecond = (millis: number) => (measured.spanCount / millis) * 1000;
  const ratios = measured.mappingMillis.map((millis, round) => measured.otlpMillis[round]! / millis);
  const cpuRatios = measured.mappingCpuMillis.map((millis, round) => measured.otlpCpuMillis[round]! / millis);
  return [
    row({
      name: 'mapping_vs_otlp',
      value: perSecond(median(measured.mappingMillis)),
      unit: 'spans/s',
      reference: perSecond(median(measured.otlpMillis)),
      ratio: median(ratios),
      target: 'ratio >= 1',
      spread: spreadOf(ratios),
      note: `toMetricEvent (dist/) vs @opentelemetry/otlp-transformer ProtobufTraceSerializer in 512-span batches; ${measured.spanCount} spans of ${measured.fixtureShapes} fixture shapes, both sides taking turns every 5,120 spans; the same ratio by process CPU time ${median(cpuRatios).toFixed(2)}`,
    }),
  ];
});
