/**
 * toMetricEvent over 100,000 mixed spans (every fixture shape, images and
 * all) against what OpenTelemetry's own OTLP exporter does with the same
 * spans: @opentelemetry/otlp-transformer's OTLP transform + protobuf
 * serialisation, in batches of 512 (BatchSpanProcessor's default).
 *
 *   npm run bench:mapping            (builds, then runs this)
 *   npx tsx bench/mapping.ts [spanCount] [rounds]    (after `npm run build`)
 *
 * `measureMapping` is what `npm run bench` calls for its mapping_vs_otlp row
 * (bench/rows/mapping.ts); run directly, this prints the figures below.
 *
 * The mapping is the BUILT code in dist/: tsx compiles TypeScript with every
 * function wrapped in a naming helper, which would slow the mapping and not
 * the OTLP side. Only the fixtures go through tsx, once, before timing.
 *
 * Both sides are warmed up, then take turns every 5,120 spans (which one goes
 * first alternating) so that load from other processes hits both alike; the
 * ratio is taken per round (same moments, same load): its median is the
 * result, its range the spread. The same ratio by process CPU time is printed
 * too: it does not move when other processes take the cores.
 * ratio = spans/s of the mapping ÷ spans/s of OTLP; >= 1 means not slower.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { everyFixtureSpan } from '../test/fixtures/spans/all.js';
import { largeSpans } from './support/span-templates.js';

const BATCH = 512;
/** Both sides take turns over slices this long: load that comes and goes hits both alike. */
const SLICE = BATCH * 10;

interface Timing {
  wallMs: number;
  /** Process CPU time: unlike wall time, it does not grow while other processes hold the cores. */
  cpuMs: number;
}

/** What the harness needs from this measurement: per-round timings of both sides, same rounds. */
export interface MappingMeasurement {
  readonly spanCount: number;
  readonly fixtureShapes: number;
  /** Spans of the mix that map to a row (the rest the `llm` filter drops). */
  readonly rows: number;
  /** Wall milliseconds per round for toMetricEvent and for OTLP transform + protobuf. */
  readonly mappingMillis: readonly number[];
  readonly otlpMillis: readonly number[];
  /** The same rounds in process CPU milliseconds. */
  readonly mappingCpuMillis: readonly number[];
  readonly otlpCpuMillis: readonly number[];
}

/** toMetricEvent from the build in dist/. */
async function builtMapping(): Promise<typeof import('../src/index.js')> {
  const builtEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  if (!existsSync(builtEntry)) {
    throw new Error('dist/ is missing: run `npm run build` first (or `npm run bench:mapping`).');
  }
  // Types from the source, code from the build (a variable path keeps TypeScript from resolving dist/).
  return (await import(builtEntry)) as typeof import('../src/index.js');
}

/** Times toMetricEvent (dist/) and OTLP serialisation over the same `spanCount` spans, `rounds` times. */
export async function measureMapping(spanCount: number, rounds: number): Promise<MappingMeasurement> {
  const { toMetricEvent } = await builtMapping();

  const pool = everyFixtureSpan();
  const spans = Array.from({ length: spanCount }, (_, i) => pool[i % pool.length]!);

  function mapSlice(from: number, to: number): number {
    let rows = 0;
    for (let i = from; i < to; i++) if (toMetricEvent(spans[i]!) !== undefined) rows++;
    return rows;
  }

  function serializeSlice(from: number, to: number): number {
    let bytes = 0;
    for (let i = from; i < to; i += BATCH) {
      bytes +=
        ProtobufTraceSerializer.serializeRequest(spans.slice(i, Math.min(i + BATCH, to)))?.byteLength ?? 0;
    }
    return bytes;
  }

  function timed(run: () => unknown, into: Timing): void {
    const cpu = process.cpuUsage();
    const start = performance.now();
    run();
    into.wallMs += performance.now() - start;
    const used = process.cpuUsage(cpu);
    into.cpuMs += (used.user + used.system) / 1000;
  }

  /** One round: every span through both sides, slice by slice, the side that starts alternating. */
  function round(mappingFirst: boolean): { mapping: Timing; otlp: Timing } {
    const mapping: Timing = { wallMs: 0, cpuMs: 0 };
    const otlp: Timing = { wallMs: 0, cpuMs: 0 };
    for (let from = 0; from < spans.length; from += SLICE) {
      const to = Math.min(from + SLICE, spans.length);
      const runMapping = () => timed(() => mapSlice(from, to), mapping);
      const runOtlp = () => timed(() => serializeSlice(from, to), otlp);
      if (mappingFirst) {
        runMapping();
        runOtlp();
      } else {
        runOtlp();
        runMapping();
      }
      mappingFirst = !mappingFirst;
    }
    return { mapping, otlp };
  }

  const rows = mapSlice(0, spans.length);
  for (let i = 0; i < 2; i++) round(i % 2 === 0); // warm-up

  const measurement = {
    spanCount,
    fixtureShapes: pool.length,
    rows,
    mappingMillis: [] as number[],
    otlpMillis: [] as number[],
    mappingCpuMillis: [] as number[],
    otlpCpuMillis: [] as number[],
  };
  for (let i = 0; i < rounds; i++) {
    const timings = round(i % 2 === 0);
    measurement.mappingMillis.push(timings.mapping.wallMs);
    measurement.otlpMillis.push(timings.otlp.wallMs);
    measurement.mappingCpuMillis.push(timings.mapping.cpuMs);
    measurement.otlpCpuMillis.push(timings.otlp.cpuMs);
  }
  return measurement;
}

/** Milliseconds toMetricEvent took on each large span, round by round. */
export interface LargeSpanMeasurement {
  readonly spans: readonly { readonly label: string; readonly chars: number }[];
  /** Per round, per span (in `spans` order): wall milliseconds of one toMetricEvent. */
  readonly millis: readonly (readonly number[])[];
  /** The same calls in process CPU milliseconds. */
  readonly cpuMillis: readonly (readonly number[])[];
}

/**
 * Maps each of the large spans (bench/support/span-templates.ts) once per
 * round, with the default maxMeasuredBytes (1 MiB), after two warm-up rounds:
 * one toMetricEvent is what a span holds the event loop for.
 */
export async function measureLargeSpans(rounds: number): Promise<LargeSpanMeasurement> {
  const { toMetricEvent } = await builtMapping();
  const spans = largeSpans();
  const millis: number[][] = [];
  const cpuMillis: number[][] = [];
  for (let round = -2; round < rounds; round++) {
    const wall: number[] = [];
    const cpu: number[] = [];
    for (const { span } of spans) {
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      toMetricEvent(span);
      wall.push(performance.now() - start);
      const used = process.cpuUsage(cpuStart);
      cpu.push((used.user + used.system) / 1000);
    }
    if (round >= 0) {
      millis.push(wall);
      cpuMillis.push(cpu);
    }
  }
  return { spans: spans.map(({ label, chars }) => ({ label, chars })), millis, cpuMillis };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const SPAN_COUNT = Number(process.argv[2] ?? 100_000);
  const ROUNDS = Number(process.argv[3] ?? 9);
  const measured = await measureMapping(SPAN_COUNT, ROUNDS);
  const median = (values: readonly number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const perSecond = (millis: number) => ((SPAN_COUNT / millis) * 1000).toFixed(0);
  const spread = (values: readonly number[]) =>
    `rounds ${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
  const ratios = measured.otlpMillis.map((otlp, i) => otlp / measured.mappingMillis[i]!);
  const cpuRatios = measured.otlpCpuMillis.map((otlp, i) => otlp / measured.mappingCpuMillis[i]!);
  const mappingMs = median(measured.mappingMillis);
  const otlpMs = median(measured.otlpMillis);
  console.log(
    `${SPAN_COUNT} spans (${measured.fixtureShapes} fixture shapes, ${measured.rows} rows), ${ROUNDS} rounds taking turns every ${SLICE} spans, medians`,
  );
  console.log(`toMetricEvent (dist):         ${mappingMs.toFixed(0)} ms (${perSecond(mappingMs)} spans/s)`);
  console.log(`OTLP transform + protobuf:    ${otlpMs.toFixed(0)} ms (${perSecond(otlpMs)} spans/s)`);
  console.log(
    `ratio mapping ÷ OTLP (spans/s): ${median(ratios).toFixed(2)} (${spread(ratios)}; >= 1: mapping not slower)`,
  );
  console.log(`same, by CPU time:             ${median(cpuRatios).toFixed(2)} (${spread(cpuRatios)})`);
}
