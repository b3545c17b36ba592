/**
 * toMetricEvent over 100,000 mixed spans (every fixture shape, images and
 * all) against what OpenTelemetry's own OTLP exporter does with the same
 * spans: @opentelemetry/otlp-transformer's OTLP transform + protobuf
 * serialisation, in batches of 512 (BatchSpanProcessor's default).
 *
 *   npm run bench:mapping            (builds, then runs this)
 *   npx tsx bench/mapping.ts [spanCount] [rounds]    (after `npm run build`)
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

const SPAN_COUNT = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 9);
const BATCH = 512;

const builtEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
if (!existsSync(builtEntry)) {
  console.error('dist/ is missing: run `npm run build` first (or `npm run bench:mapping`).');
  process.exit(1);
}
// Types from the source, code from the build (a variable path keeps TypeScript from resolving dist/).
const { toMetricEvent } = (await import(builtEntry)) as typeof import('../src/index.js');

const pool = everyFixtureSpan();
const spans = Array.from({ length: SPAN_COUNT }, (_, i) => pool[i % pool.length]!);

/** Both sides take turns over slices this long: load that comes and goes hits both alike. */
const SLICE = BATCH * 10;

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

interface Timing {
  wallMs: number;
  /** Process CPU time: unlike wall time, it does not grow while other processes hold the cores. */
  cpuMs: number;
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

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const perSecond = (millis: number) => ((SPAN_COUNT / millis) * 1000).toFixed(0);
const spread = (values: readonly number[]) =>
  `rounds ${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;

const rows = mapSlice(0, spans.length);
for (let i = 0; i < 2; i++) round(i % 2 === 0); // warm-up

const mapping: number[] = [];
const otlp: number[] = [];
const ratios: number[] = [];
const cpuRatios: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const timings = round(i % 2 === 0);
  mapping.push(timings.mapping.wallMs);
  otlp.push(timings.otlp.wallMs);
  ratios.push(timings.otlp.wallMs / timings.mapping.wallMs);
  cpuRatios.push(timings.otlp.cpuMs / timings.mapping.cpuMs);
}

const mappingMs = median(mapping);
const otlpMs = median(otlp);
console.log(
  `${SPAN_COUNT} spans (${pool.length} fixture shapes, ${rows} rows), ${ROUNDS} rounds taking turns every ${SLICE} spans, medians`,
);
console.log(`toMetricEvent (dist):         ${mappingMs.toFixed(0)} ms (${perSecond(mappingMs)} spans/s)`);
console.log(`OTLP transform + protobuf:    ${otlpMs.toFixed(0)} ms (${perSecond(otlpMs)} spans/s)`);
console.log(
  `ratio mapping ÷ OTLP (spans/s): ${median(ratios).toFixed(2)} (${spread(ratios)}; >= 1: mapping not slower)`,
);
console.log(`same, by CPU time:             ${median(cpuRatios).toFixed(2)} (${spread(cpuRatios)})`);
