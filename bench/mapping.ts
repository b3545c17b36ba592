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
 * Both sides are warmed up, rounds alternate which side runs first so that
 * load from other processes hits both alike, and the ratio is taken per round
 * (same moment, same load): its median is the result, its range the spread.
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

function mapAll(): number {
  let rows = 0;
  for (const span of spans) if (toMetricEvent(span) !== undefined) rows++;
  return rows;
}

function serializeAll(): number {
  let bytes = 0;
  for (let i = 0; i < spans.length; i += BATCH) {
    bytes += ProtobufTraceSerializer.serializeRequest(spans.slice(i, i + BATCH))?.byteLength ?? 0;
  }
  return bytes;
}

function time(run: () => number): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const perSecond = (millis: number) => ((SPAN_COUNT / millis) * 1000).toFixed(0);

const rows = mapAll();
for (let i = 0; i < 2; i++) {
  mapAll();
  serializeAll();
}

const mapping: number[] = [];
const otlp: number[] = [];
const ratios: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const mappingFirst = round % 2 === 0;
  const first = time(mappingFirst ? mapAll : serializeAll);
  const second = time(mappingFirst ? serializeAll : mapAll);
  const [mappingMs, otlpMs] = mappingFirst ? [first, second] : [second, first];
  mapping.push(mappingMs);
  otlp.push(otlpMs);
  ratios.push(otlpMs / mappingMs);
}

const mappingMs = median(mapping);
const otlpMs = median(otlp);
console.log(
  `${SPAN_COUNT} spans (${pool.length} fixture shapes, ${rows} rows), ${ROUNDS} alternating rounds, medians`,
);
console.log(`toMetricEvent (dist):         ${mappingMs.toFixed(0)} ms (${perSecond(mappingMs)} spans/s)`);
console.log(`OTLP transform + protobuf:    ${otlpMs.toFixed(0)} ms (${perSecond(otlpMs)} spans/s)`);
console.log(
  `ratio mapping ÷ OTLP (spans/s): ${median(ratios).toFixed(2)} ` +
    `(rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; >= 1: mapping not slower)`,
);
