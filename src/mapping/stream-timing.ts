/**
 * How fast a streamed answer came: time_to_first_token_ms, and the stream's
 * other timings for text_custom_metrics, where the span records them.
 *
 * - `gen_ai.response.time_to_first_chunk`, seconds: the GenAI conventions
 *   (open-telemetry/semantic-conventions-genai, model/gen-ai/registry.yaml).
 * - `gen_ai.client.operation.time_to_first_chunk` and
 *   `gen_ai.client.operation.time_per_output_chunk`, seconds: the AI SDK 7
 *   (`@ai-sdk/otel` 1.0.173, `getGenAIClientPerformanceAttributes`) puts the
 *   conventions' metric names on its `chat` span.
 * - `ai.response.msToFirstChunk`, `ai.response.msToFinish`,
 *   `ai.response.avgOutputTokensPerSecond`: the AI SDK 6 (`ai` 6.0.326) on
 *   `ai.streamText.doStream`, and the AI SDK 7's LegacyOpenTelemetry.
 * - `ai.stream.msToFirstChunk`, milliseconds: the AI SDK's step spans.
 *
 * OpenLLMetry (`@traceloop/instrumentation-openai` 0.27), OpenInference
 * (`@arizeai/openinference-instrumentation-openai` 4.2.7) and the contrib
 * instrumentation (0.21) record no first-token time: their rows keep null.
 */
import { groupedKeys, type GroupedKey } from './key-index.js';
import type { SpanView } from './span-view.js';

/** Where the time to the first token is read, first found first, with the factor to milliseconds. */
const FIRST_TOKEN_SOURCES: readonly (GroupedKey & { readonly toMillis: number })[] = [
  ...groupedKeys(['gen_ai.response.time_to_first_chunk', 'gen_ai.client.operation.time_to_first_chunk']).map(
    (key) => ({ ...key, toMillis: 1000 }),
  ),
  ...groupedKeys(['ai.response.msToFirstChunk', 'ai.stream.msToFirstChunk']).map((key) => ({
    ...key,
    toMillis: 1,
  })),
];

const [MS_TO_FINISH, TIME_PER_OUTPUT_CHUNK, AVG_OUTPUT_TOKENS_PER_SECOND] = groupedKeys([
  'ai.response.msToFinish',
  'gen_ai.client.operation.time_per_output_chunk',
  'ai.response.avgOutputTokensPerSecond',
]) as [GroupedKey, GroupedKey, GroupedKey];

/** A span's stream timings; each undefined when the span records none. */
export interface StreamTiming {
  readonly firstTokenMillis: number | undefined;
  readonly finishMillis: number | undefined;
  readonly perOutputChunkMillis: number | undefined;
  readonly outputTokensPerSecond: number | undefined;
}

export const NO_STREAM_TIMING: StreamTiming = {
  firstTokenMillis: undefined,
  finishMillis: undefined,
  perOutputChunkMillis: undefined,
  outputTokensPerSecond: undefined,
};

/** The key groups a span must have for any timing to be read: the others skip it. */
export const STREAM_TIMING_GROUPS = [
  ...FIRST_TOKEN_SOURCES,
  MS_TO_FINISH,
  TIME_PER_OUTPUT_CHUNK,
  AVG_OUTPUT_TOKENS_PER_SECOND,
].reduce((groups, { group }) => groups | group, 0);

export function streamTimingInView(view: SpanView): StreamTiming {
  if (!view.has(STREAM_TIMING_GROUPS)) return NO_STREAM_TIMING;
  let firstTokenMillis: number | undefined;
  for (const { key, group, toMillis } of FIRST_TOKEN_SOURCES) {
    const value = view.has(group) ? duration(view.get(key)) : undefined;
    if (value !== undefined) {
      firstTokenMillis = value * toMillis;
      break;
    }
  }
  const perChunkSeconds = read(view, TIME_PER_OUTPUT_CHUNK);
  const timing: StreamTiming = {
    firstTokenMillis,
    finishMillis: read(view, MS_TO_FINISH),
    perOutputChunkMillis: perChunkSeconds === undefined ? undefined : perChunkSeconds * 1000,
    outputTokensPerSecond: read(view, AVG_OUTPUT_TOKENS_PER_SECOND),
  };
  return timing.firstTokenMillis === undefined &&
    timing.finishMillis === undefined &&
    timing.perOutputChunkMillis === undefined &&
    timing.outputTokensPerSecond === undefined
    ? NO_STREAM_TIMING
    : timing;
}

function read(view: SpanView, { key, group }: GroupedKey): number | undefined {
  return view.has(group) ? duration(view.get(key)) : undefined;
}

/** A finite number of at least 0; anything else is no timing. */
function duration(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
