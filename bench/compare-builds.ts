/**
 * Two builds of the mapping against each other, in one process: how much
 * faster `toMetricEvent` of build B is than that of build A over the fixture
 * mix of mapping_vs_otlp (100,000 spans of every shape), the two taking turns
 * over 5,120-span slices so that load from other processes hits both alike.
 *
 *   npm run build && cp -r dist /tmp/before    # then change the code
 *   npm run build && npx tsx bench/compare-builds.ts /tmp/before dist
 *
 * Each build path must hold a dist/ tree (index.js at its root) whose
 * dependencies resolve from this checkout (a copy inside the checkout, or
 * dist itself). Prints the per-round times and the median and range of the
 * per-round ratios A ÷ B (> 1: B is faster); two copies of the same build
 * measure 0.98–1.01 on a quiet machine.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { everyFixtureSpan } from '../test/fixtures/spans/all.js';

type Mapping = (span: ReadableSpan) => unknown;

const SPANS = 100_000;
const SLICE = 5_120;
const ROUNDS = 9;
const WARM_UP_ROUNDS = 2;

async function mappingOf(folder: string): Promise<Mapping> {
  const entry = pathToFileURL(resolve(folder, 'index.js')).href;
  const built = (await import(entry)) as { toMetricEvent: Mapping };
  return built.toMetricEvent;
}

const [folderA, folderB] = process.argv.slice(2);
if (folderA === undefined || folderB === undefined) {
  console.error('usage: npx tsx bench/compare-builds.ts <build A> <build B>');
  process.exit(2);
}
const a = await mappingOf(folderA);
const b = await mappingOf(folderB);
if (a === b) console.warn('both paths load the same module: the ratio is of a build against itself');
const pool = everyFixtureSpan();
const spans = Array.from({ length: SPANS }, (_, i) => pool[i % pool.length]!);

const ratios: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  let millisA = 0;
  let millisB = 0;
  for (let from = 0, slice = 0; from < spans.length; from += SLICE, slice++) {
    const to = Math.min(spans.length, from + SLICE);
    for (const side of (slice + round) % 2 === 0 ? [a, b] : [b, a]) {
      const start = performance.now();
      for (let i = from; i < to; i++) side(spans[i]!);
      const millis = performance.now() - start;
      if (side === a) millisA += millis;
      else millisB += millis;
    }
  }
  if (round < WARM_UP_ROUNDS) continue;
  ratios.push(millisA / millisB);
  console.log(
    `round ${round - WARM_UP_ROUNDS + 1}: A ${((millisA * 1000) / SPANS).toFixed(2)} µs/span, B ${((millisB * 1000) / SPANS).toFixed(2)} µs/span`,
  );
}
const sorted = [...ratios].sort((x, y) => x - y);
console.log(
  `A ÷ B: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} (rounds ${sorted[0]!.toFixed(3)}–${sorted[sorted.length - 1]!.toFixed(3)}); > 1: B is faster`,
);
