/**
 * toMetricEvent over 100,000 mixed spans (every fixture shape, images and
 * all) against what OpenTelemetry's own OTLP exporter does with the same
 * spans: @opentelemetry/otlp-transformer's OTLP transform + protobuf
 * serialisation, in batches of 512 (BatchSpanProcessor's default).
 *
 *   npx tsx bench/mapping.ts [spanCount]
 *
 * Rounds alternate between the two so that load from other processes hits
 * both alike; the ratio of medians is what to compare, not absolute times.
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { toMetricEvent } from '../src/mapping/to-metric-event.js';
import { gif6x2, jpeg5x3 } from '../test/fixtures/images.js';
import * as aiSdk from '../test/fixtures/spans/ai-sdk.js';
import * as aiSdk7 from '../test/fixtures/spans/ai-sdk-7.js';
import * as openInference from '../test/fixtures/spans/openinference.js';
import * as openLlmetry from '../test/fixtures/spans/openllmetry.js';
import * as legacy from '../test/fixtures/spans/openllmetry-legacy.js';
import * as other from '../test/fixtures/spans/other-instrumentations.js';

const SPAN_COUNT = Number(process.argv[2] ?? 100_000);
const BATCH = 512;
const ROUNDS = 5;

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

const pool = fixtureSpans();
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

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

mapAll(); // warm up both paths
serializeAll();
const mapping: number[] = [];
const otlp: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  mapping.push(time(mapAll));
  otlp.push(time(serializeAll));
}
const mappingMs = median(mapping);
const otlpMs = median(otlp);
console.log(`${SPAN_COUNT} spans (${pool.length} fixture shapes), median of ${ROUNDS} rounds`);
console.log(
  `toMetricEvent:                ${mappingMs.toFixed(0)} ms (${((SPAN_COUNT / mappingMs) * 1000).toFixed(0)} spans/s)`,
);
console.log(
  `OTLP transform + protobuf:    ${otlpMs.toFixed(0)} ms (${((SPAN_COUNT / otlpMs) * 1000).toFixed(0)} spans/s)`,
);
console.log(`ratio mapping / OTLP:         ${(mappingMs / otlpMs).toFixed(2)}`);
