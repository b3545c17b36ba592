/**
 * The token columns (schema 1.1) hold a span's own usage the GenAI way:
 * `input_tokens` counts every input token, cached ones included, once.
 * Sources that report the Anthropic API's uncached count get the cache reads
 * and writes added; sources that already count them get nothing added; the
 * JSON keeps each count as reported. Spans: test/fixtures/spans/prompt-cache.ts
 * (each names the source its shape comes from) and the captured OpenAI calls.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { MappingOptions } from '../../src/mapping/span-like.js';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import { NO_TOKEN_COLUMNS, tokenColumns, type TokenColumns } from '../../src/mapping/tokens.js';
import {
  ANTHROPIC_ALL_INPUT,
  ANTHROPIC_USAGE,
  aiSdk5GenerateTextThroughOpenLlmetry,
  aiSdk5StreamTextCall,
  aiSdk6AnthropicCalls,
  aiSdk6OverVersion2AnthropicProvider,
  aiSdk7AnthropicChat,
  anthropicSdkChat,
  langfuseOpenAiGeneration,
  openInferenceAnthropicChat,
  openLlmetryAnthropicChat,
  openLlmetryAnthropicChatWithCacheInInput,
} from '../fixtures/spans/prompt-cache.js';
import { spanNamed } from '../fixtures/spans/record.js';
import { loadCapturedSpans } from '../support/captured-span.js';

function row(span: ReadableSpan, options?: MappingOptions) {
  const event = toMetricEvent(span, options);
  if (!event) throw new Error(`no row for span ${span.name}`);
  return event;
}

/** The six columns of the span's row. */
function columnsOf(
  span: ReadableSpan,
  options?: MappingOptions,
): Pick<ReturnType<typeof row>, keyof TokenColumns> {
  const {
    input_tokens,
    output_tokens,
    total_tokens,
    cache_read_tokens,
    cache_write_tokens,
    reasoning_tokens,
  } = row(span, options);
  return {
    input_tokens,
    output_tokens,
    total_tokens,
    cache_read_tokens,
    cache_write_tokens,
    reasoning_tokens,
  };
}

function captured(instrumentation: string, scenario: string, name: string): ReadableSpan {
  return spanNamed(loadCapturedSpans(instrumentation, scenario), name);
}

const { input_tokens: UNCACHED, output_tokens: OUTPUT } = ANTHROPIC_USAGE;
const CACHE_READ = ANTHROPIC_USAGE.cache_read_input_tokens;
const CACHE_WRITE = ANTHROPIC_USAGE.cache_creation_input_tokens;

/** Every column of an Anthropic call whose input counts all 2,312 tokens. */
const ANTHROPIC_COLUMNS: TokenColumns = {
  input_tokens: ANTHROPIC_ALL_INPUT,
  output_tokens: OUTPUT,
  total_tokens: ANTHROPIC_ALL_INPUT + OUTPUT,
  cache_read_tokens: CACHE_READ,
  cache_write_tokens: CACHE_WRITE,
  reasoning_tokens: null,
};

describe('sources that report the Anthropic API’s uncached input count: the columns add the cache', () => {
  it('OpenLLMetry’s Anthropic instrumentation 0.27.0: input = input + cache read + cache write, the total likewise', async () => {
    const span = await openLlmetryAnthropicChat();
    expect(span.attributes['gen_ai.usage.input_tokens']).toBe(UNCACHED);
    expect(columnsOf(span)).toEqual(ANTHROPIC_COLUMNS);
  });

  it('keeps the count as reported in text_custom_metrics', async () => {
    expect(row(await openLlmetryAnthropicChat()).text_custom_metrics).toMatchObject({
      input_tokens: UNCACHED,
      total_tokens: UNCACHED + OUTPUT,
      cache_read_tokens: CACHE_READ,
      cache_creation_tokens: CACHE_WRITE,
    });
  });

  it('AI SDK 5 streamText over the Anthropic provider: adds the cache reads it reports (its cache writes are only in providerMetadata)', () => {
    expect(columnsOf(aiSdk5StreamTextCall())).toEqual({
      ...ANTHROPIC_COLUMNS,
      input_tokens: UNCACHED + CACHE_READ,
      total_tokens: UNCACHED + CACHE_READ + OUTPUT,
      cache_write_tokens: null,
    });
  });

  it.each(['amazon-bedrock', 'vertex.anthropic.messages'])(
    'AI SDK 5 streamText over %s (an uncached count too): adds the cache reads',
    (provider) => {
      expect(columnsOf(aiSdk5StreamTextCall(provider)).input_tokens).toBe(UNCACHED + CACHE_READ);
    },
  );

  it('AI SDK 6 over a version-2 Anthropic provider: adds the cache reads', async () => {
    const doGenerate = spanNamed(await aiSdk6OverVersion2AnthropicProvider(), 'ai.generateText.doGenerate');
    expect(doGenerate.attributes['ai.usage.inputTokens']).toBe(UNCACHED);
    expect(columnsOf(doGenerate)).toMatchObject({
      input_tokens: UNCACHED + CACHE_READ,
      total_tokens: UNCACHED + CACHE_READ + OUTPUT,
      cache_read_tokens: CACHE_READ,
    });
  });

  it('AI SDK 5 through OpenLLMetry’s span processor (ai.sdk.version 5): adds the cache reads and writes it copied', () => {
    expect(columnsOf(aiSdk5GenerateTextThroughOpenLlmetry())).toEqual(ANTHROPIC_COLUMNS);
  });
});

describe('sources whose input count includes the cache: nothing is added', () => {
  it('OpenLLMetry’s Anthropic instrumentation after 0.27.0 (same attributes, cache in input)', () => {
    const span = openLlmetryAnthropicChatWithCacheInInput('0.27.1');
    expect(columnsOf(span)).toEqual(ANTHROPIC_COLUMNS);
  });

  it('the Anthropic SDK’s own span (gen_ai.usage.cache_write.input_tokens)', () => {
    expect(columnsOf(anthropicSdkChat())).toEqual(ANTHROPIC_COLUMNS);
  });

  it('AI SDK 6 over the Anthropic provider, generateText and streamText', async () => {
    const spans = await aiSdk6AnthropicCalls();
    for (const name of ['ai.generateText.doGenerate', 'ai.streamText.doStream']) {
      expect(columnsOf(spanNamed(spans, name))).toEqual(ANTHROPIC_COLUMNS);
    }
  });

  it('AI SDK 6 streamObject over the Anthropic provider, though it reports cache reads as AI SDK 5 does', async () => {
    const doStream = spanNamed(await aiSdk6AnthropicCalls(), 'ai.streamObject.doStream');
    expect(doStream.attributes['ai.usage.cachedInputTokens']).toBe(CACHE_READ);
    expect(columnsOf(doStream)).toEqual({ ...ANTHROPIC_COLUMNS, cache_write_tokens: null });
  });

  it('AI SDK 7 GenAI chat span over the Anthropic provider', () => {
    expect(columnsOf(aiSdk7AnthropicChat().chat)).toEqual(ANTHROPIC_COLUMNS);
  });

  it('OpenInference’s Anthropic instrumentation 0.2.8', () => {
    expect(columnsOf(openInferenceAnthropicChat())).toEqual(ANTHROPIC_COLUMNS);
  });

  it('AI SDK 5 streamText over OpenAI: prompt tokens already count the cached ones', () => {
    const span = aiSdk5StreamTextCall('openai.chat');
    span.attributes['ai.usage.inputTokens'] = 23;
    span.attributes['gen_ai.usage.input_tokens'] = 23;
    span.attributes['ai.usage.cachedInputTokens'] = 8;
    expect(columnsOf(span).input_tokens).toBe(23);
  });
});

/** The captured OpenAI calls: prompt 23 tokens, of which 8 cached; completion 14, of which 3 reasoning. */
describe.each([
  ['AI SDK 6', () => captured('ai6', 'chat', 'ai.generateText.doGenerate'), 8, 3],
  ['AI SDK 6 stream', () => captured('ai6', 'chat-stream', 'ai.streamText.doStream'), 8, 3],
  ['AI SDK 7', () => captured('ai7', 'chat', 'chat gpt-4o-mini'), 8, null],
  ['AI SDK 7 legacy spans', () => captured('ai7-legacy', 'chat', 'ai.generateText.doGenerate'), 8, 3],
  ['OpenInference', () => captured('openinference-openai', 'chat', 'OpenAI Chat Completions'), 8, 3],
  ['OpenLLMetry', () => captured('openllmetry-openai', 'chat', 'chat gpt-4o-mini'), null, null],
  ['the contrib instrumentation', () => captured('contrib-openai', 'chat', 'chat gpt-4o-mini'), null, null],
] as const)('OpenAI through %s', (_source, span, cacheRead, reasoning) => {
  it('counts the prompt tokens as input, the cached ones within them, not on top', () => {
    expect(columnsOf(span())).toEqual({
      input_tokens: 23,
      output_tokens: 14,
      total_tokens: 37,
      cache_read_tokens: cacheRead,
      cache_write_tokens: null,
      reasoning_tokens: reasoning,
    });
  });
});

describe('Langfuse usage details: the columns sum the usage types as Langfuse does', () => {
  it('input is every type with “input” in its name, output likewise; the JSON keeps `input` as given', () => {
    const event = row(langfuseOpenAiGeneration());
    expect(event.input_tokens).toBe(23);
    expect(event.output_tokens).toBe(14);
    expect(event.total_tokens).toBe(37);
    expect(event.text_custom_metrics).toMatchObject({
      input_tokens: 15,
      output_tokens: 11,
      total_tokens: 37,
    });
  });

  it('sums input and output as the total when Langfuse was given none', () => {
    const span = langfuseOpenAiGeneration();
    const usage = JSON.parse(span.attributes['langfuse.observation.usage_details'] as string) as Record<
      string,
      number
    >;
    delete usage['total'];
    span.attributes['langfuse.observation.usage_details'] = JSON.stringify(usage);
    expect(row(span).total_tokens).toBe(37);
  });

  it('leaves input null when one of its types is not a count', () => {
    const span = langfuseOpenAiGeneration();
    span.attributes['langfuse.observation.usage_details'] = JSON.stringify({
      input: 15,
      input_cached_tokens: 1.5,
    });
    expect(row(span).input_tokens).toBeNull();
  });
});

describe('each model call counted once', () => {
  it('OpenLLMetry’s span around the Anthropic SDK’s own: the SDK span (aggregate) has no columns, the sum is 2,312', async () => {
    const outer = columnsOf(await openLlmetryAnthropicChat());
    const inner = columnsOf(anthropicSdkChat(), { parentIsModelCall: true });
    expect(inner).toEqual(NO_TOKEN_COLUMNS);
    expect(Number(outer.input_tokens ?? 0) + Number(inner.input_tokens ?? 0)).toBe(ANTHROPIC_ALL_INPUT);
  });

  it('a wrapper span that repeats its children’s usage has every column null', async () => {
    const spans = await aiSdk6AnthropicCalls();
    expect(columnsOf(spanNamed(spans, 'ai.generateText'))).toEqual(NO_TOKEN_COLUMNS);
    expect(columnsOf(aiSdk7AnthropicChat().agent)).toEqual(NO_TOKEN_COLUMNS);
  });
});

describe('values that are not counts', () => {
  it('leaves a column null when its attribute is not a count', () => {
    const span = captured('openinference-openai', 'chat', 'OpenAI Chat Completions');
    span.attributes['llm.token_count.prompt'] = 1.5;
    span.attributes['llm.token_count.prompt_details.cache_read'] = -1;
    expect(columnsOf(span)).toMatchObject({ input_tokens: null, cache_read_tokens: null, total_tokens: 37 });
  });

  it('leaves input and total null when a cache count to add is not a count', async () => {
    const span = await openLlmetryAnthropicChat();
    span.attributes['gen_ai.usage.cache_read.input_tokens'] = 'many';
    expect(columnsOf(span)).toMatchObject({
      input_tokens: null,
      total_tokens: null,
      cache_write_tokens: CACHE_WRITE,
    });
  });

  it('leaves input null rather than rounded when the cache added passes 2^53 - 1', async () => {
    const span = await openLlmetryAnthropicChat();
    span.attributes['gen_ai.usage.input_tokens'] = Number.MAX_SAFE_INTEGER - 100;
    expect(columnsOf(span).input_tokens).toBeNull();
  });

  it('leaves a derived total null rather than rounded past 2^53 - 1', () => {
    const span = captured('contrib-openai', 'chat', 'chat gpt-4o-mini');
    span.attributes['gen_ai.usage.input_tokens'] = Number.MAX_SAFE_INTEGER;
    expect(columnsOf(span)).toMatchObject({ input_tokens: Number.MAX_SAFE_INTEGER, total_tokens: null });
  });
});

describe('tokenColumns', () => {
  it('returns every column null for a wrapper span, whatever the counts', () => {
    const counts = { input_tokens: 5, output_tokens: 2, total_tokens: 7 };
    expect(tokenColumns({ counts, invalid: [], totalReported: true }, true)).toEqual(NO_TOKEN_COLUMNS);
  });

  it('works out input + output as the total when the span reported none', () => {
    const counts = { input_tokens: 5, output_tokens: 2, cache_read_tokens: 3, cache_creation_tokens: 1 };
    expect(tokenColumns({ counts, invalid: [], inputLeavesOutCache: true }, false)).toMatchObject({
      input_tokens: 9,
      total_tokens: 11,
    });
  });
});
