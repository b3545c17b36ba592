/**
 * toMetricEvent over 100,000 mixed spans (every fixture shape, images and
 * all) against what OpenTelemetry's own OTLP exporter does with the same
 * spans: @opentelemetry/otlp-transformer's OTLP transform + protobuf
 * serialisation, in batches of 512 (BatchSpanProcessor's default).
 *
 *   npx tsx bench/mapping.ts [spanCount] [rounds]    (after `npm run build`)
 *
 * `measureMapping` is what `npm run bench` calls (bench/rows/mapping.ts).
 * The mapping is the BUILT code in dist/. Rounds alternate which side goes
 * first so that load from other processes hits both alike; the ratio is taken
 * per round: its median is the result, its range the spread.
 * ratio = spans/s of the mapping ÷ spans/s of OTLP; >= 1 means not slower.
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { gif6x2, jpeg5x3 } from '../test/fixtures/images.js';
import * as aiSdk from '../test/fixtures/spans/ai-sdk.js';
import * as aiSdk7 from '../test/fixtures/spans/ai-sdk-7.js';
import * as openInference from '../test/fixtures/spans/openinference.js';
import * as openLlmetry from '../test/fixtures/spans/openllmetry.js';
import * as legacy from '../test/fixtures/spans/openllmetry-legacy.js';
import * as other from '../test/fixtures/spans/other-instrumentations.js';
import { importBuilt } from '../test/support/built-package.js';

const BATCH = 512;

function fixtureSpans(): ReadableSpan[] {
  const toolCall = openLlmetry.openLlmetryToolCall();
  return [
    ...openLlmetry.openLlmetryChatWithImage(),
    toolCall.chat,
    toolCall.tool,
    openLlmetry.openLlmetryAnthropicError(),
    ...openLlmetry.openLlmetryWorkflow(),
    legacy.legacyChatWithImage(),
    legacy.legacyToolCallCompletion(),
    openInference.openInferenceChatWithImage(gif6x2(), 'image/gif'),
    openInference.openInferenceChatWithImage(jpeg5x3(), 'image/jpeg', { redacted: true }),
    openInference.openInferenceEmbedding(),
    openInference.openInferenceError(),
    ...openInference.openInferenceAgentTree(),
    ...aiSdk.aiSdk6GenerateTextWithImage(),
    aiSdk.aiSdk6ToolCall(),
    ...aiSdk.aiSdk6Embed(),
    aiSdk.aiSdk6Error(),
    aiSdk.aiSdk4DoGenerate(),
    ...aiSdk7.aiSdk7AgentRun(),
    ...aiSdk7.aiSdk7Embedding(),
    other.contribOpenAiChat(),
    other.contribOpenAiError(),
    ...other.anthropicSdkUnderInstrumentation(),
    other.langfuseGeneration(),
    other.plainHttpSpan(),
  ];
}

/** What the harness needs from this measurement: per-round timings of both sides. */
export interface MappingMeasurement {
  readonly spanCount: number;
  readonly fixtureShapes: number;
  /** Milliseconds per round for toMetricEvent and for OTLP transform + protobuf, same rounds. */
  readonly mappingMillis: readonly number[];
  readonly otlpMillis: readonly number[];
}

/** Times toMetricEvent (dist/) and OTLP serialisation over the same `spanCount` spans, `rounds` times. */
export async function measureMapping(spanCount: number, rounds: number): Promise<MappingMeasurement> {
  const { toMetricEvent } = await importBuilt<typeof import('../src/index.js')>('index.js');
  const pool = fixtureSpans();
  const spans = Array.from({ length: spanCount }, (_, i) => pool[i % pool.length]!);

  const mapAll = (): number => {
    let rows = 0;
    for (const span of spans) if (toMetricEvent(span) !== undefined) rows++;
    return rows;
  };
  const serializeAll = (): number => {
    let bytes = 0;
    for (let i = 0; i < spans.length; i += BATCH) {
      bytes += ProtobufTraceSerializer.serializeRequest(spans.slice(i, i + BATCH))?.byteLength ?? 0;
    }
    return bytes;
  };
  const time = (run: () => number): number => {
    const start = performance.now();
    run();
    return performance.now() - start;
  };

  mapAll(); // warm up both paths
  serializeAll();
  const mappingMillis: number[] = [];
  const otlpMillis: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      mappingMillis.push(time(mapAll));
      otlpMillis.push(time(serializeAll));
    } else {
      otlpMillis.push(time(serializeAll));
      mappingMillis.push(time(mapAll));
    }
  }
  return { spanCount, fixtureShapes: pool.length, mappingMillis, otlpMillis };
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

if (import.meta.url === `file://${process.argv[1]}`) {
  const spanCount = Number(process.argv[2] ?? 100_000);
  const { fixtureShapes, mappingMillis, otlpMillis } = await measureMapping(
    spanCount,
    Number(process.argv[3] ?? 5),
  );
  const ratios = mappingMillis.map((millis, round) => otlpMillis[round]! / millis);
  const mappingMs = median(mappingMillis);
  const otlpMs = median(otlpMillis);
  const perSecond = (millis: number) => ((spanCount / millis) * 1000).toFixed(0);
  console.log(
    `${spanCount} spans (${fixtureShapes} fixture shapes), median of ${mappingMillis.length} rounds`,
  );
  console.log(`toMetricEvent (dist):         ${mappingMs.toFixed(0)} ms (${perSecond(mappingMs)} spans/s)`);
  console.log(`OTLP transform + protobuf:    ${otlpMs.toFixed(0)} ms (${perSecond(otlpMs)} spans/s)`);
  console.log(
    `ratio mapping ÷ OTLP (spans/s): ${median(ratios).toFixed(2)} ` +
      `(rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; >= 1: mapping not slower)`,
  );
}
